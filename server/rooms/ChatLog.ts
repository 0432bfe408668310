/**
 * The room's chat: part of the consultation record, replayed to late joiners, bounded in length and
 * rate so one client cannot flood the others. The rate limit is per person (the token's identity), not
 * per join, and its clock may be handed in from the room's memory so leaving and rejoining — even
 * after the room closed — does not reset it. A joiner is handed the latest messages only; older ones
 * are paged on request.
 */
import { randomUUID } from 'node:crypto';
import { notFound, ProtocolError, type ChatMessage, type ParticipantInfo } from '../../signaling/protocol/index.js';

export interface ChatLimits {
  /** Messages kept for replay to late joiners (and paging). */
  history: number;
  /** At most `burst` messages per person in any `windowMs`. */
  burst: number;
  windowMs: number;
}

export const DEFAULT_CHAT_LIMITS: ChatLimits = { history: 500, burst: 5, windowMs: 5000 };

/** A page of the chat, oldest first; `hasMore`: older messages are still kept. */
export interface ChatPage {
  messages: ChatMessage[];
  hasMore: boolean;
}

export class ChatLog {
  readonly #messages: ChatMessage[] = [];
  /** Per identity: the times of their recent messages. */
  readonly #recent: Map<string, number[]>;
  readonly #limits: ChatLimits;

  /** `recent`: where the rate limit's clock is kept (the room's memory, so it outlives the room). */
  constructor(limits: ChatLimits = DEFAULT_CHAT_LIMITS, recent = new Map<string, number[]>()) {
    this.#limits = limits;
    this.#recent = recent;
  }

  /** Every message kept, oldest first. */
  history(): ChatMessage[] {
    return [...this.#messages];
  }

  /**
   * The `limit` messages just before the message `before` (the latest ones without it), oldest first.
   * An id no longer (or never) kept is NOT_FOUND: an empty page would read as "nothing older".
   */
  page(before: string | undefined, limit: number): ChatPage {
    let end = this.#messages.length;
    if (before !== undefined) {
      end = this.#messages.findIndex((m) => m.id === before);
      if (end < 0) throw notFound(`no such chat message here (this room keeps its last ${this.#limits.history} messages)`);
    }
    const start = Math.max(0, end - Math.max(0, limit));
    return { messages: this.#messages.slice(start, end), hasMore: start > 0 };
  }

  /**
   * `record`: called with the message once it passes the limits and before it is kept; if it throws
   * (the audit trail cannot be written), nothing is kept and the limit is not charged.
   */
  post(author: ParticipantInfo, text: string, now = Date.now(), record?: (message: ChatMessage) => void): ChatMessage {
    const times = (this.#recent.get(author.identity) ?? []).filter((t) => now - t < this.#limits.windowMs);
    if (times.length >= this.#limits.burst) {
      const wait = Math.max(1, Math.ceil((times[0]! + this.#limits.windowMs - now) / 1000));
      throw new ProtocolError(
        'TOO_MANY_REQUESTS',
        `at most ${this.#limits.burst} chat messages per ${this.#limits.windowMs / 1000} s; please wait ${wait} s`,
      );
    }
    const message: ChatMessage = {
      id: randomUUID(),
      participantId: author.id,
      displayName: author.displayName,
      role: author.role,
      siteName: author.site.name,
      text,
      at: new Date(now).toISOString(),
    };
    record?.(message);
    times.push(now);
    this.#recent.set(author.identity, times);
    this.#messages.push(message);
    if (this.#messages.length > this.#limits.history) this.#messages.shift();
    return message;
  }
}
