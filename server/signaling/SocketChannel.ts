/**
 * How the room core's notifications reach one connection's client — in an order the client can rely
 * on: a join's answer first, then what happened since.
 *
 * A participant is told of the room's changes from the moment it enters, but its join is answered
 * only once its receive transport and consumers are made (worker round trips). A camera published or
 * a person come meanwhile was announced before the answer: the SDK, which takes the answer as the
 * room's state (on a first join it is not even listening yet), lost that camera for good — in 6 to
 * 9 of 16 racing joins in test/integration/join-race.test.ts. So while a join is answered, notifications
 * wait, in order, and follow the answer. The answer is made last (its snapshot includes them), so
 * those that repeat it are harmless: clients apply notifications idempotently (a known producer is not
 * received twice, a known participant not announced twice).
 *
 * A broadcast edge answers its viewers' joins with the origin's answer, and relays what the origin
 * tells them: a relayed notice that came in the same read as the answer would overtake it (the edge
 * acks after its own continuations), so the edge's viewer sockets hold the same way.
 */
import type { LeaveReason, NotificationMap, NotificationName, RequestName } from '../../signaling/protocol/index.js';
import type { ParticipantChannel } from '../rooms/Participant.js';

/** The part of a Socket.IO socket this needs. */
export interface NotifiableSocket {
  emit(event: string, payload: unknown): unknown;
  disconnect(close: boolean): unknown;
}

/** After `sessionEnded`, the socket is dropped once the notice had time to reach the client. */
const END_LINGER_MS = 100;

export class SocketChannel implements ParticipantChannel {
  readonly #socket: NotifiableSocket;
  /** Notifications waiting for an answer (holds may overlap: a second join refused while one runs). */
  #held: (() => void)[] = [];
  #holds = 0;

  constructor(socket: NotifiableSocket) {
    this.#socket = socket;
  }

  notify<N extends NotificationName>(name: N, payload: NotificationMap[N]): void {
    // Sent straight away unless held: no closure on the common path.
    if (this.#holds > 0) this.#held.push(() => this.#socket.emit(name, payload));
    else this.#socket.emit(name, payload);
  }

  end(reason: LeaveReason, message: string): void {
    const ending = (): void => {
      this.#socket.emit('sessionEnded', { reason, message });
      setTimeout(() => this.#socket.disconnect(true), END_LINGER_MS).unref();
    };
    if (this.#holds > 0) this.#held.push(ending);
    else ending();
  }

  /** Superseded by a resumed connection: dropped without a word, nothing more to tell it. */
  close(): void {
    this.#held = [];
    this.#socket.disconnect(true);
  }

  /**
   * Runs one request and sends its answer. A join's answer goes out before anything the room told
   * this client meanwhile (the join's own snapshot is the state; see above).
   */
  answer<A>(request: RequestName, run: () => Promise<A>, send: (answer: A) => void): void {
    const answerFirst = request === 'join';
    if (answerFirst) this.hold();
    void run()
      .then(send)
      .finally(() => answerFirst && this.release());
  }

  /** Until the matching release(): notifications wait. */
  hold(): void {
    this.#holds++;
  }

  /** Call right after the answer went out: what waited is sent, in order. */
  release(): void {
    this.#holds = Math.max(0, this.#holds - 1);
    if (this.#holds > 0) return;
    const held = this.#held;
    this.#held = [];
    for (const send of held) send();
  }
}
