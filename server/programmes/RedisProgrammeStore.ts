/**
 * Programmes of a cluster, in Redis: one hash for all of them (`ClusterKeys.programmes`), so a
 * programme saved through any node is seen by every node, whichever one a patient's link reaches.
 * Each node keeps a copy in memory for its pages' polls: loaded at start and again after every
 * reconnection (changes published while it was cut off are not replayed to it), and kept fresh by a
 * pub/sub message naming the room each change was made to.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { ClusterKeys } from '../cluster/keys.js';
import { connectRedis, type RedisTarget } from '../cluster/redis.js';
import type { Logger } from '../logger.js';
import { parseRecord, type ProgrammeRecord, type ProgrammeStore } from './ProgrammeStore.js';

const unreachable = () =>
  new ProtocolError(
    'UNAVAILABLE',
    "programmes are kept in the cluster's Redis, which cannot be reached right now; please retry in a few seconds",
    {
      retryAfterSeconds: '3',
    },
  );

export class RedisProgrammeStore implements ProgrammeStore {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #keys: ClusterKeys;
  readonly #log: Logger;
  readonly #records = new Map<string, ProgrammeRecord>();
  readonly #listeners: ((record: ProgrammeRecord) => void)[] = [];
  /** Tells this store's own change messages from other nodes'. */
  readonly #id = randomUUID();
  readonly ready: Promise<void>;

  constructor(target: RedisTarget, keys: ClusterKeys, log: Logger) {
    this.#keys = keys;
    this.#log = log;
    this.#redis = connectRedis(target, log);
    this.#subscriber = connectRedis(target, log);
    this.#subscriber.on('message', (_channel: string, message: string) => void this.#heard(message));
    // Subscribed again at every (re)connection: commands are not queued while Redis is away.
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(keys.programmeChanges).catch((err: unknown) => log.warn({ err }, 'programme changes: subscribe failed'));
    });
    let loaded!: () => void;
    this.ready = new Promise((resolve) => (loaded = resolve));
    this.#redis.on('ready', () => {
      this.#loadAll().then(loaded, (err: unknown) =>
        log.warn({ err }, 'programmes could not be read from Redis; retrying at the next connection'),
      );
    });
  }

  get(room: string): ProgrammeRecord | undefined {
    return this.#records.get(room);
  }

  all(): ProgrammeRecord[] {
    return [...this.#records.values()];
  }

  async put(record: ProgrammeRecord): Promise<void> {
    const message = JSON.stringify({ room: record.room, from: this.#id });
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.#redis
        .multi()
        .hset(this.#keys.programmes, record.room, JSON.stringify(record))
        .publish(this.#keys.programmeChanges, message)
        .exec();
    } catch (err) {
      this.#log.warn(
        { err: err instanceof Error ? err.message : String(err), room: record.room },
        'programme not saved: Redis unreachable',
      );
      throw unreachable();
    }
    if (!replies || replies.some(([error]) => error)) throw unreachable();
    this.#records.set(record.room, record);
  }

  onChanged(listener: (record: ProgrammeRecord) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    this.#subscriber.disconnect();
    this.#redis.disconnect();
  }

  async #loadAll(): Promise<void> {
    const stored = await this.#redis.hgetall(this.#keys.programmes);
    for (const [room, text] of Object.entries(stored)) {
      const before = this.#records.get(room);
      const record = this.#take(room, text);
      // Changed while this node was cut off (or before it started): its messages were missed.
      if (record && JSON.stringify(before) !== JSON.stringify(record)) for (const listener of this.#listeners) listener(record);
    }
  }

  /** Another node changed a programme: read it again (the message names the room, not the record). */
  async #heard(message: string): Promise<void> {
    let change: { room?: unknown; from?: unknown };
    try {
      change = JSON.parse(message) as typeof change;
    } catch {
      return;
    }
    if (typeof change.room !== 'string' || change.from === this.#id) return;
    try {
      const text = await this.#redis.hget(this.#keys.programmes, change.room);
      const record = text === null ? undefined : this.#take(change.room, text);
      if (record) for (const listener of this.#listeners) listener(record);
    } catch (err) {
      // Read again at the next reconnection; until then this node shows the previous version.
      this.#log.warn({ err, room: change.room }, 'a programme changed elsewhere could not be read');
    }
  }

  #take(room: string, text: string): ProgrammeRecord | undefined {
    try {
      const record = parseRecord(text);
      if (record.room !== room) throw new Error(`stored under ${room} but for ${record.room}`);
      this.#records.set(room, record);
      return record;
    } catch (err) {
      this.#log.warn({ err, room }, 'stored programme unreadable; ignored');
      return undefined;
    }
  }
}
