/**
 * A room's durable memory in Redis (bans, an ended consultation, moderator mutes, and what moves
 * with the room: the lock and the recording), written only by the node holding the room's lease —
 * the write is fenced by the lease's epoch, so a node cut off and replaced writes nothing. What Redis
 * refused or could not take is kept and written again at the next heartbeat.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { CarriedState, DurableSnapshot, RoomMemory } from '../rooms/RoomMemory.js';
import type { ClusterKeys } from './keys.js';
import { formatHolder, type LeaseHolder } from './RoomLease.js';

/** Writes a room's memory only while `holder` still owns the room: a fenced-off node writes nothing. */
const SAVE_MEMORY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'banned', ARGV[2], 'ended', ARGV[3], 'carry', ARGV[4], 'epoch', ARGV[5])
redis.call('HSET', KEYS[2], 'owner', ARGV[7], 'live', ARGV[8], 'mutes', ARGV[9], 'route', ARGV[10])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1`;

/**
 * Notes that a room is no longer live on node ARGV[1] — only while nobody holds its lease and its
 * memory names that node as the owner (a newer owner's memory is never touched).
 */
const NOT_LIVE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[2], 'live') ~= '1' then return 0 end
redis.call('HSET', KEYS[2], 'live', '0')
return 1`;

export interface RoomMemoryStoreOptions {
  redis: Redis;
  keys: ClusterKeys;
  /** This node's route: where the owner is probed before a takeover, even once its registration lapsed. */
  route: string;
  /** How long a room's memory is kept after its last write (the longest token lifetime). */
  memoryMs: number;
  /** The lease this node holds for a room now, if any. */
  holderOf: (roomId: string) => LeaseHolder | undefined;
  /** Redis could not be reached (the write is kept for the next heartbeat). */
  failed: (err: unknown) => void;
  log: Logger;
}

export class RoomMemoryStore {
  readonly #o: RoomMemoryStoreOptions;
  /** Room memory not yet written (Redis was down): pushed again at every heartbeat until it is. */
  readonly #unsaved = new Map<string, DurableSnapshot>();

  constructor(options: RoomMemoryStoreOptions) {
    this.#o = options;
  }

  /** What is remembered of a room (empty fields if nothing), as the node that last held it left it. */
  async read(roomId: string): Promise<Record<string, string>> {
    return this.#o.redis.hgetall(this.#o.keys.roomMemory(roomId));
  }

  async restore(roomId: string, memory: RoomMemory): Promise<void> {
    const fields = await this.read(roomId);
    for (const identity of JSON.parse(fields['banned'] ?? '[]') as string[]) memory.banned.add(identity);
    if (fields['ended'] === '1') memory.ended = true;
    // The lock and the recording of a room that was live elsewhere (its node died) or moved from there.
    memory.carried = fields['carry'] ? (JSON.parse(fields['carry']) as CarriedState) : null;
    const mutes = JSON.parse(fields['mutes'] ?? '{}') as Record<string, ('microphone' | 'camera')[]>;
    for (const [identity, sources] of Object.entries(mutes)) {
      const held = memory.mutes.get(identity) ?? new Set();
      for (const source of sources) held.add(source);
      memory.mutes.set(identity, held);
    }
  }

  save(roomId: string, snapshot: DurableSnapshot): void {
    this.#unsaved.set(roomId, snapshot);
    void this.flush(roomId);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.#unsaved.keys()].map((roomId) => this.flush(roomId)));
  }

  /** Writes the latest memory of `roomId` if this node still holds the room; kept for a retry if Redis failed. */
  async flush(roomId: string): Promise<void> {
    const snapshot = this.#unsaved.get(roomId);
    const holder = this.#o.holderOf(roomId);
    if (!snapshot) return;
    if (!holder) {
      this.#unsaved.delete(roomId);
      this.#o.log.warn({ room: roomId }, 'room memory not written: this node no longer holds the room');
      return;
    }
    try {
      const written = await this.#write(roomId, holder, snapshot);
      if (written) {
        if (this.#unsaved.get(roomId) === snapshot) this.#unsaved.delete(roomId);
        return;
      }
      // Our lease lapsed (Redis was out of reach) or moved on: kept until the heartbeat claims the
      // room again (then it is written with the new epoch) or finds it lost (then it is dropped).
      this.#o.log.warn(
        { room: roomId, epoch: holder.epoch },
        'room memory refused: the lease lapsed; written once the room is claimed again',
      );
    } catch (err) {
      this.#o.failed(err); // kept: the next heartbeat writes it
    }
  }

  /**
   * The room is not open on `nodeId`, whatever its memory says (its last write, "no longer live", was
   * lost to a Redis failure): corrected, so that the next node takes the room instead of sending its
   * people back to a node that does not have it. True if it was corrected.
   */
  async notLiveOn(roomId: string, nodeId: string): Promise<boolean> {
    const { redis, keys } = this.#o;
    return (await redis.eval(NOT_LIVE, 2, keys.roomOwner(roomId), keys.roomMemory(roomId), nodeId)) === 1;
  }

  async #write(roomId: string, holder: LeaseHolder, snapshot: DurableSnapshot): Promise<boolean> {
    const { redis, keys } = this.#o;
    const written = await redis.eval(
      SAVE_MEMORY,
      2,
      keys.roomOwner(roomId),
      keys.roomMemory(roomId),
      formatHolder(holder),
      JSON.stringify(snapshot.banned),
      snapshot.ended ? '1' : '0',
      snapshot.carry ? JSON.stringify(snapshot.carry) : '',
      holder.epoch,
      this.#o.memoryMs,
      holder.nodeId,
      snapshot.live ? '1' : '0',
      JSON.stringify(snapshot.mutes),
      this.#o.route,
    );
    return written === 1;
  }
}
