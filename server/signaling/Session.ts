/**
 * One authenticated socket. It carries at most one participant at a time, and its state — derived
 * from that participant's — decides which requests the dispatcher lets through. Requests run one at
 * a time, in order, so a client cannot race its own produce against its own leave — unless one
 * runs out of time (see `enqueue`): then the next goes ahead while the late one finishes, or never does.
 */
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { Principal } from '../auth/TokenVerifier.js';
import type { Participant, ParticipantChannel } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { PreparedReceive } from './PreparedReceive.js';

/**
 * This connection's state. `none`: no participant (not joined yet, or left); `waiting`: in a locked
 * room's lobby; `joined`: in the room; `replaced`: its participant was resumed on another
 * connection, so this one speaks for no one any more.
 */
export type ConnectionState = 'none' | 'waiting' | 'joined' | 'replaced';

export interface Joined {
  participant: Participant;
  room: Room;
}

/** A small token bucket: generous for a real client, a wall for a runaway loop. */
class RateLimiter {
  #tokens: number;
  #last = Date.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.perSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class Session {
  readonly principal: Principal;
  /** This socket's way to its client; a participant resumed elsewhere no longer uses it. */
  readonly channel: ParticipantChannel;
  #joined: Joined | undefined;
  /** Settles when the latest request has finished or run out of time; never rejects. */
  #queue: Promise<void> = Promise.resolve();
  readonly #limiter = new RateLimiter(50, 200);
  readonly #tokenExpiresAtMs: number;
  #prepared: PreparedReceive | undefined;

  /** `tokenExpiresAtMs`: when the token this connection was opened with expires (see requireLiveToken). */
  constructor(principal: Principal, channel: ParticipantChannel, tokenExpiresAtMs = Number.POSITIVE_INFINITY) {
    this.principal = principal;
    this.channel = channel;
    this.#tokenExpiresAtMs = tokenExpiresAtMs;
  }

  /**
   * Entering a room takes a token valid now, not only when the connection opened: a socket kept open
   * (a pre-join screen's, or one left after `leave`) does not outlive its token for a join. A session
   * already in the room goes on past it (the SDK's `updateToken` is for its next connection).
   */
  requireLiveToken(now = Date.now()): void {
    if (now > this.#tokenExpiresAtMs)
      throw new ProtocolError(
        'UNAUTHENTICATED',
        'the access token this connection was opened with has expired: connect again with a fresh one',
      );
  }

  get state(): ConnectionState {
    const participant = this.#joined?.participant;
    if (!participant || participant.closed) return 'none';
    if (!participant.attachedTo(this.channel)) return 'replaced';
    return participant.state === 'waiting' ? 'waiting' : 'joined';
  }

  /** The participant and room this connection speaks for, whatever its state (undefined in `none`). */
  get current(): Joined | undefined {
    const joined = this.#joined;
    return joined && !joined.participant.closed ? joined : undefined;
  }

  /** The receive transport prepared for this connection's join, if any (see PreparedReceive). */
  get prepared(): PreparedReceive | undefined {
    return this.#prepared;
  }

  /** Keeps `prepared` for the join; one per connection: an earlier one closes. */
  holdPrepared(prepared: PreparedReceive): void {
    this.#prepared?.close();
    this.#prepared = prepared;
  }

  /** Hands the prepared transport over (to a join), or nothing; either way this connection holds none after. */
  takePrepared(): PreparedReceive | undefined {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    return prepared;
  }

  /** Ties `participant` to this connection until it closes. */
  bind(participant: Participant, room: Room): void {
    this.#joined = { participant, room };
    participant.once('closed', () => {
      if (this.#joined?.participant === participant) this.#joined = undefined;
    });
  }

  /**
   * Runs `task` after every earlier request of this session has finished or run out of time.
   *
   * With `timeoutMs`, the returned promise rejects with RequestTimedOut once that long has passed
   * since the request arrived (waiting in the queue counts: the client is answered within the bound
   * whatever is ahead of it), and the queue moves on without waiting for the task: a call hung in a
   * media worker must not hold this socket's later requests. A task whose time ran out before its
   * turn is never run; one already running goes on, and the signal it was given is aborted so it can
   * tell that its outcome will reach no one (its caller has had its answer).
   */
  enqueue<T>(task: (deadline: AbortSignal) => Promise<T> | T, timeoutMs?: number): Promise<T> {
    if (!this.#limiter.take()) return Promise.reject(new ProtocolError('TOO_MANY_REQUESTS', 'too many requests; slow down'));
    return new Promise<T>((resolve, reject) => {
      const deadline = new AbortController();
      let started = false;
      let timer: NodeJS.Timeout | undefined;
      // Resolves when the time is up: the queue's signal to move on. Never resolves without a bound.
      const expired = new Promise<void>((expire) => {
        if (timeoutMs === undefined) return;
        timer = setTimeout(() => {
          const timedOut = new RequestTimedOut(timeoutMs, started);
          deadline.abort(timedOut);
          reject(timedOut);
          expire();
        }, timeoutMs);
      });
      const turn = async (): Promise<void> => {
        if (deadline.signal.aborted) return; // its time ran out while it waited: never run
        started = true;
        const running = (async () => task(deadline.signal))();
        // Whichever comes first answers the caller: the outcome, or the timer (then this is a no-op).
        void running.then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (reason: unknown) => {
            clearTimeout(timer);
            reject(reason);
          },
        );
        await Promise.race([running.then(noop, noop), expired]);
      };
      this.#queue = this.#queue.then(turn);
    });
  }
}

/** A request was not finished within its bound; `started` tells whether its task had begun. */
export class RequestTimedOut extends Error {
  override name = 'RequestTimedOut';
  constructor(
    readonly timeoutMs: number,
    readonly started: boolean,
  ) {
    super(`request not finished within ${timeoutMs} ms`);
  }
}

const noop = (): void => undefined;
