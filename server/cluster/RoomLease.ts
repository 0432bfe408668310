/**
 * Exactly one owner per room: a lease in Redis with a fencing epoch. Claiming is atomic (a Lua
 * script: only when nobody holds the lease, with a new epoch); extending and releasing compare the
 * whole "<node>|<epoch>" value first, so a node that lost its lease (it paused, its link was cut, the
 * lease expired and another node took the room) can neither extend nor delete its successor's lease.
 * Every write the owner makes elsewhere carries its epoch, so a stale owner's writes can be refused.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

export interface LeaseHolder {
  nodeId: string;
  epoch: number;
}

export interface ClaimResult {
  /** True when this call created the lease (the caller owns the room now). */
  claimed: boolean;
  /** Who holds the lease after the call: the caller, or the node that already did. */
  owner: LeaseHolder;
}

const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return {0, current} end
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local value = ARGV[1] .. '|' .. epoch
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}`;

const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RoomLeaseOptions {
  /** How long a lease lives without being extended. */
  ttlMs: number;
  /** How long the epoch counter is kept after the last claim (at least the longest token lifetime). */
  epochTtlMs: number;
}

export class RoomLeases {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #options: RoomLeaseOptions;

  constructor(redis: Redis, keys: ClusterKeys, options: RoomLeaseOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#options = options;
  }

  /** Claims `roomId` for `nodeId` if nobody holds it; either way, says who does. */
  async claim(roomId: string, nodeId: string): Promise<ClaimResult> {
    const [created, value] = (await this.#redis.eval(
      CLAIM,
      2,
      this.#keys.roomOwner(roomId),
      this.#keys.roomEpoch(roomId),
      nodeId,
      this.#options.ttlMs,
      this.#options.epochTtlMs,
    )) as [number, string];
    return { claimed: created === 1, owner: parseHolder(value) };
  }

  /** The current owner, if any. */
  async owner(roomId: string): Promise<LeaseHolder | undefined> {
    const value = await this.#redis.get(this.#keys.roomOwner(roomId));
    return value === null ? undefined : parseHolder(value);
  }

  /** Extends the lease only if `holder` still holds it; false means the room is no longer ours. */
  async extend(roomId: string, holder: LeaseHolder): Promise<boolean> {
    const result = await this.#redis.eval(EXTEND, 1, this.#keys.roomOwner(roomId), formatHolder(holder), this.#options.ttlMs);
    return result === 1;
  }

  /** Gives the room up, only if `holder` still holds it (never deletes a successor's lease). */
  async release(roomId: string, holder: LeaseHolder): Promise<boolean> {
    const result = await this.#redis.eval(RELEASE, 1, this.#keys.roomOwner(roomId), formatHolder(holder));
    return result === 1;
  }
}

export const formatHolder = (h: LeaseHolder): string => `${h.nodeId}|${h.epoch}`;

function parseHolder(value: string): LeaseHolder {
  const at = value.lastIndexOf('|');
  return { nodeId: value.slice(0, at), epoch: Number(value.slice(at + 1)) };
}
