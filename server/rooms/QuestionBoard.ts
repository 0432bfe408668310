/**
 * Written Q&A for broadcasts and training: viewers ask, moderators approve or hide, presenters mark
 * answered. Everyone sees approved and answered questions; managers see all. Bounded in length, rate
 * and count so a large audience cannot drown the presenters. The per-person limits are keyed by the
 * token's identity, not the per-join participant id, so leaving and rejoining resets neither the
 * interval nor the number of questions one person has waiting for a moderator.
 */
import { randomUUID } from 'node:crypto';
import {
  badRequest,
  notFound,
  ProtocolError,
  type ParticipantInfo,
  type Question,
  type QuestionStatus,
} from '../../signaling/protocol/index.js';

export interface QuestionLimits {
  /** Time between two questions of one person. */
  intervalMs: number;
  /** Questions kept per room. */
  max: number;
  /** Questions one person may have waiting for a moderator at once. */
  pendingPerPerson: number;
}

export const DEFAULT_QUESTION_LIMITS: QuestionLimits = { intervalMs: 10_000, max: 1000, pendingPerPerson: 3 };

const PUBLIC: ReadonlySet<QuestionStatus> = new Set(['approved', 'answered']);

export class QuestionBoard {
  readonly #questions = new Map<string, Question>();
  /** Per question still pending: its author's identity. */
  readonly #pendingBy = new Map<string, string>();
  /** Per identity: when they last asked. */
  readonly #lastAsked: Map<string, number>;
  readonly #limits: QuestionLimits;

  /** `lastAsked`: where the interval's clock is kept (the room's memory, so it outlives the room). */
  constructor(limits: QuestionLimits = DEFAULT_QUESTION_LIMITS, lastAsked = new Map<string, number>()) {
    this.#limits = limits;
    this.#lastAsked = lastAsked;
  }

  /** Whether a question in this status is shown to the whole audience. */
  static isPublic(status: QuestionStatus): boolean {
    return PUBLIC.has(status);
  }

  list(manager: boolean): Question[] {
    const all = [...this.#questions.values()];
    return manager ? all : all.filter((q) => PUBLIC.has(q.status));
  }

  /** `record`: called once the question passes the limits, before it is kept; if it throws, nothing is kept. */
  ask(author: ParticipantInfo, text: string, now = Date.now(), record?: (question: Question) => void): Question {
    const last = this.#lastAsked.get(author.identity);
    if (last !== undefined && now - last < this.#limits.intervalMs) {
      throw new ProtocolError('TOO_MANY_REQUESTS', `one question every ${this.#limits.intervalMs / 1000} s, please`);
    }
    if (this.#pendingOf(author.identity) >= this.#limits.pendingPerPerson) {
      throw new ProtocolError(
        'TOO_MANY_REQUESTS',
        `you have ${this.#limits.pendingPerPerson} questions waiting for a moderator; please wait until they are taken up`,
      );
    }
    if (this.#questions.size >= this.#limits.max) throw new ProtocolError('TOO_MANY_REQUESTS', 'this session takes no more questions');
    const question: Question = {
      id: randomUUID(),
      text,
      askedBy: { participantId: author.id, displayName: author.displayName, siteName: author.site.name },
      askedAt: new Date(now).toISOString(),
      status: 'pending',
    };
    record?.(question);
    this.#lastAsked.set(author.identity, now);
    this.#questions.set(question.id, question);
    this.#pendingBy.set(question.id, author.identity);
    return question;
  }

  /**
   * Moves a question on; returns the previous status so the caller knows who must be told. `record`:
   * called once the change is allowed, before it is made; if it throws, nothing changes.
   */
  update(id: string, status: 'approved' | 'hidden' | 'answered', record?: () => void): { question: Question; previous: QuestionStatus } {
    const question = this.#questions.get(id);
    if (!question) throw notFound('no such question');
    const previous = question.status;
    if (status === 'answered' && previous === 'hidden') throw badRequest('a hidden question cannot be marked answered; approve it first');
    record?.();
    question.status = status;
    this.#pendingBy.delete(id); // a moderator or presenter has taken it up
    return { question: { ...question }, previous };
  }

  #pendingOf(identity: string): number {
    let count = 0;
    for (const author of this.#pendingBy.values()) if (author === identity) count++;
    return count;
  }
}
