/**
 * One authenticated socket. It carries at most one participant at a time, and its state — derived
 * from that participant's — decides which requests the dispatcher lets through. Requests run one at
 * a time, in order, so a client cannot race its own produce against its own leave.
 */
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { Principal } from '../auth/TokenVerifier.js';
import type { Participant, ParticipantChannel } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';

/**
 * This connection's state. `none`: no participant (not joined yet, or left); `waiting`: in a locked
 * room's lobby; `joined`: in the room; `replaced`: its participant was resumed on another
 * connection, so this one speaks for no one any more.
 */
export type ConnectionState = 'none' | 'waiting' | 'joined' | 'replaced';
export const CONNECTION_STATES = ['none', 'waiting', 'joined', 'replaced'] as const satisfies readonly ConnectionState[];

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
  #queue: Promise<unknown> = Promise.resolve();
  readonly #limiter = new RateLimiter(50, 200);

  constructor(principal: Principal, channel: ParticipantChannel) {
    this.principal = principal;
    this.channel = channel;
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

  /** Ties `participant` to this connection until it closes. */
  bind(participant: Participant, room: Room): void {
    this.#joined = { participant, room };
    participant.once('closed', () => {
      if (this.#joined?.participant === participant) this.#joined = undefined;
    });
  }

  /** Runs `task` after every earlier request of this session has finished. */
  enqueue<T>(task: () => Promise<T> | T): Promise<T> {
    if (!this.#limiter.take()) return Promise.reject(new ProtocolError('TOO_MANY_REQUESTS', 'too many requests; slow down'));
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
