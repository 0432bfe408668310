/**
 * What must outlive a room object: who a moderator removed, whether the lead ended it, and the limits
 * each person has used up in it. A room closes when it empties, but the tokens for it stay valid for
 * up to their lifetime; without this a removed person could come back once everyone had left, an
 * ended consultation could be reopened, and leaving and rejoining would reset every rate limit.
 * Everything here is keyed by the token's identity, never by the per-join participant id.
 */
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { LockState } from './RoomLock.js';

export interface RoomMemory {
  readonly banned: Set<string>;
  ended: boolean;
  /** Per identity: when each of their recent chat messages was posted (the chat rate limit). */
  readonly chatTimes: Map<string, number[]>;
  /** Per identity: when they last asked a question (the Q&A interval). */
  readonly lastAsked: Map<string, number>;
  /** Per identity: how fast they may (re)join this room. */
  readonly joins: JoinThrottle;
  /** Per identity: sources a moderator muted and has not allowed again (held across rejoins). */
  readonly mutes: Map<string, Set<'microphone' | 'camera'>>;
  /**
   * Set (clustered) when another node served this room until it died or handed it over: its lock and
   * recording, taken over once by the room opened here.
   */
  carried: CarriedState | null;
}

/** What a room that moves to another node takes with it besides bans, the end and the mutes. */
export interface CarriedState {
  lock: LockState;
  /** The recording that was running (its session id): it goes on here as a new, linked part. */
  recording: string | null;
}

export interface JoinLimits {
  /** Joins one identity may make in a row. */
  burst: number;
  /** Then one more every `intervalMs`. */
  intervalMs: number;
}

export const DEFAULT_JOIN_LIMITS: JoinLimits = { burst: 5, intervalMs: 3000 };

/**
 * A token bucket per identity: `burst` joins at once (a reloaded page, a second device, a flaky
 * network), then one every `intervalMs`. Each join opens a session, writes to the trail and sends a
 * snapshot, so a client looping join/leave must not get more than that.
 */
export class JoinThrottle {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #limits: JoinLimits;

  constructor(limits: JoinLimits = DEFAULT_JOIN_LIMITS) {
    this.#limits = limits;
  }

  /** Takes one join for `identity`, or throws TOO_MANY_REQUESTS saying how long to wait. */
  take(identity: string, now = Date.now()): void {
    const { burst, intervalMs } = this.#limits;
    const bucket = this.#buckets.get(identity);
    const tokens = bucket ? Math.min(burst, bucket.tokens + (intervalMs > 0 ? (now - bucket.at) / intervalMs : burst)) : burst;
    if (tokens < 1) {
      const seconds = Math.ceil(((1 - tokens) * intervalMs) / 1000);
      throw new ProtocolError('TOO_MANY_REQUESTS', `you joined this room too often in a short time; please wait ${seconds} s`);
    }
    this.#buckets.set(identity, { tokens: tokens - 1, at: now });
  }
}

export function newRoomMemory(joinLimits: JoinLimits = DEFAULT_JOIN_LIMITS): RoomMemory {
  return {
    banned: new Set(),
    ended: false,
    chatTimes: new Map(),
    lastAsked: new Map(),
    joins: new JoinThrottle(joinLimits),
    mutes: new Map(),
    carried: null,
  };
}

export class RoomMemories {
  readonly #entries = new Map<string, { memory: RoomMemory; touched: number }>();
  readonly #keepMs: number;
  readonly #joinLimits: JoinLimits;

  /** `keepSeconds`: how long after its last use a memory is kept (the longest token lifetime). */
  constructor(keepSeconds: number, joinLimits: JoinLimits = DEFAULT_JOIN_LIMITS) {
    this.#keepMs = keepSeconds * 1000;
    this.#joinLimits = joinLimits;
  }

  of(roomId: string, now = Date.now()): RoomMemory {
    this.#prune(now);
    let entry = this.#entries.get(roomId);
    if (!entry) this.#entries.set(roomId, (entry = { memory: newRoomMemory(this.#joinLimits), touched: now }));
    entry.touched = now;
    return entry.memory;
  }

  #prune(now: number): void {
    for (const [id, entry] of this.#entries) if (now - entry.touched > this.#keepMs) this.#entries.delete(id);
  }
}

/** The part of a room's memory that must outlive this node too (clustered: kept in Redis). */
export interface DurableSnapshot {
  banned: string[];
  ended: boolean;
  /** Per identity: the sources a moderator muted. */
  mutes: Record<string, ('microphone' | 'camera')[]>;
  /** The room is open (a lapsed lease then means its owner may have died, not that it closed). */
  live: boolean;
  /**
   * While the room is open, or when it closed to move to another node: what the next node takes over
   * (null once it closed for good — the next opening starts unlocked and unrecorded).
   */
  carry: CarriedState | null;
}

/**
 * Where a room's durable memory lives beyond this process. A single node needs none (its memory
 * outlives the room object already); a cluster node reads what other nodes remembered before it
 * opens a room, and pushes every change, so that a removed person stays out and an ended
 * consultation stays ended whichever node serves the room next.
 */
export interface DurableRoomMemory {
  /** Before the room opens here: merges what is remembered elsewhere into `memory`. */
  restore(roomId: string, memory: RoomMemory): Promise<void>;
  /** After a change (or at close): the room's durable state now. Must not throw. */
  save(roomId: string, snapshot: DurableSnapshot): void;
}
