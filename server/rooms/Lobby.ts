/** People waiting to be admitted to a locked room. Moderators are told whenever the list changes. */
import type { ParticipantInfo } from '../../signaling/protocol/index.js';
import type { Participant } from './Participant.js';

export class Lobby {
  readonly #waiting = new Map<string, Participant>();
  readonly #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  get size(): number {
    return this.#waiting.size;
  }

  list(): ParticipantInfo[] {
    return [...this.#waiting.values()].map((p) => p.info);
  }

  add(participant: Participant): void {
    this.#waiting.set(participant.id, participant);
    // Someone who gives up waiting (closes the page) leaves the list by themselves.
    participant.once('closed', () => this.take(participant.id));
    this.#onChange();
  }

  /** Removes and returns a waiting participant. */
  take(id: string): Participant | undefined {
    const participant = this.#waiting.get(id);
    if (participant && this.#waiting.delete(id)) this.#onChange();
    return participant;
  }

  findIdentity(identity: string): Participant | undefined {
    for (const p of this.#waiting.values()) if (p.info.identity === identity) return p;
    return undefined;
  }

  all(): Participant[] {
    return [...this.#waiting.values()];
  }
}
