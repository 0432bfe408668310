/**
 * One authenticated socket. Before `join` a session may only ask for capabilities, join or leave;
 * once joined it carries the Participant and its Room. Requests run one at a time, in order, so a
 * client cannot race its own produce against its own leave.
 */
import type { Participant, ParticipantChannel } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { Principal } from '../auth/TokenVerifier.js';
import { ProtocolError, wrongState } from '../../signaling/protocol/index.js';

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

  get joinedState(): Joined | undefined {
    return this.#joined;
  }

  /** The participant and room, or a WRONG_STATE error for requests that need an admitted participant. */
  joined(): Joined {
    const joined = this.#joined;
    if (!joined || joined.participant.closed) throw wrongState('join the room first');
    if (!joined.participant.attachedTo(this.channel)) throw wrongState('this connection was replaced by a newer one');
    if (!joined.participant.admitted) throw wrongState('you are waiting in the lobby until a moderator admits you');
    return joined;
  }

  setJoined(joined: Joined | undefined): void {
    this.#joined = joined;
  }

  /** Runs `task` after every earlier request of this session has finished. */
  enqueue<T>(task: () => Promise<T> | T): Promise<T> {
    if (!this.#limiter.take()) return Promise.reject(new ProtocolError('TOO_MANY_REQUESTS', 'too many requests; slow down'));
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
