/**
 * The SDK's picture of the room: people, raised hands, chat, lock state. A snapshot from the server
 * (on join, admission or resume) is merged in and the differences are returned, so events can be
 * raised for what changed while the connection was down.
 */
import type { ChatMessage, JoinResult, ParticipantInfo } from '../../signaling/protocol/types/index.js';

export interface SnapshotDiff {
  joined: ParticipantInfo[];
  left: ParticipantInfo[];
  newChat: ChatMessage[];
  lockChanged: boolean;
}

export class RoomModel {
  readonly participants = new Map<string, ParticipantInfo>();
  readonly raisedHands = new Set<string>();
  readonly chat: ChatMessage[] = [];
  readonly #chatIds = new Set<string>();
  locked = false;

  apply(snapshot: JoinResult): SnapshotDiff {
    const incoming = new Map(snapshot.participants.map((p) => [p.id, p]));
    const left = [...this.participants.values()].filter((p) => !incoming.has(p.id));
    const joined = snapshot.participants.filter((p) => !this.participants.has(p.id));
    this.participants.clear();
    for (const p of snapshot.participants) this.participants.set(p.id, p);
    this.raisedHands.clear();
    for (const id of snapshot.raisedHands) this.raisedHands.add(id);
    const newChat = snapshot.chat.filter((m) => this.addChat(m));
    const lockChanged = this.locked !== snapshot.roomLocked;
    this.locked = snapshot.roomLocked;
    return { joined, left, newChat, lockChanged };
  }

  /** Adds a message unless already known (a resume replays history). Returns whether it was new. */
  addChat(message: ChatMessage): boolean {
    if (this.#chatIds.has(message.id)) return false;
    this.#chatIds.add(message.id);
    this.chat.push(message);
    return true;
  }
}
