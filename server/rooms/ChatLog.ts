/**
 * The room's chat: part of the consultation record, replayed to late joiners, bounded in length and
 * rate so one client cannot flood the others.
 */
import { randomUUID } from 'node:crypto';
import { ProtocolError, type ChatMessage, type ParticipantInfo } from '../../signaling/protocol/index.js';

export interface ChatLimits {
  /** Messages kept for replay to late joiners. */
  history: number;
  /** At most `burst` messages per participant in any `windowMs`. */
  burst: number;
  windowMs: number;
}

export const DEFAULT_CHAT_LIMITS: ChatLimits = { history: 500, burst: 5, windowMs: 5000 };

export class ChatLog {
  readonly #messages: ChatMessage[] = [];
  readonly #recent = new Map<string, number[]>();
  readonly #limits: ChatLimits;

  constructor(limits: ChatLimits = DEFAULT_CHAT_LIMITS) {
    this.#limits = limits;
  }

  history(): ChatMessage[] {
    return [...this.#messages];
  }

  post(author: ParticipantInfo, text: string, now = Date.now()): ChatMessage {
    const times = (this.#recent.get(author.id) ?? []).filter((t) => now - t < this.#limits.windowMs);
    if (times.length >= this.#limits.burst) {
      throw new ProtocolError(
        'TOO_MANY_REQUESTS',
        `at most ${this.#limits.burst} chat messages per ${this.#limits.windowMs / 1000} s; please wait`,
      );
    }
    times.push(now);
    this.#recent.set(author.id, times);
    const message: ChatMessage = {
      id: randomUUID(),
      participantId: author.id,
      displayName: author.displayName,
      role: author.role,
      siteName: author.site.name,
      text,
      at: new Date(now).toISOString(),
    };
    this.#messages.push(message);
    if (this.#messages.length > this.#limits.history) this.#messages.shift();
    return message;
  }

  forget(participantId: string): void {
    this.#recent.delete(participantId);
  }
}
