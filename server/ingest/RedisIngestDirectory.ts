/**
 * A cluster's ingests in Redis: one hash (`ClusterKeys.ingests`), an entry per ingest, and a pub/sub
 * channel naming each one revoked. Entries carry their own expiry (a token lives hours to days) and
 * are dropped when read past it. A node that was cut off from Redis may have missed revocations: at
 * every reconnection it checks the ingests it knows are still there.
 */
import type { Redis } from 'ioredis';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { ClusterKeys } from '../cluster/keys.js';
import { connectRedis, whenReady, type RedisTarget } from '../cluster/redis.js';
import type { Logger } from '../logger.js';
import { expired, parseIngestRecord, type IngestDirectory, type IngestRecord } from './IngestDirectory.js';

/** KEYS[1] the ingests' hash; ARGV: id, entry. Written only over an entry still there (not revoked meanwhile). */
const UPDATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** KEYS[1] the ingests' hash; ARGV: id, revocation channel. Deleted and announced in one step. */
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1`;

const unreachable = () =>
  new ProtocolError(
    'UNAVAILABLE',
    "ingests are kept in the cluster's Redis, which cannot be reached right now; please retry in a few seconds",
    {
      retryAfterSeconds: '3',
    },
  );

export class RedisIngestDirectory implements IngestDirectory {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #keys: ClusterKeys;
  readonly #log: Logger;
  readonly #listeners: ((id: string) => void)[] = [];
  /** Ingests this node has created or looked up: the ones whose revocation it must not miss. */
  readonly #known = new Set<string>();
  #cutOff = false;
  /** The first connection, waited for by the first commands (later ones fail fast while Redis is away). */
  readonly #connected: Promise<void>;

  constructor(target: RedisTarget, keys: ClusterKeys, log: Logger) {
    this.#keys = keys;
    this.#log = log;
    this.#redis = connectRedis(target, log);
    this.#subscriber = connectRedis(target, log);
    this.#connected = whenReady(this.#redis, 3000).catch(() => undefined);
    this.#subscriber.on('message', (_channel: string, id: string) => this.#removed(id));
    this.#subscriber.on('close', () => (this.#cutOff = true));
    this.#subscriber.on('ready', () => {
      this.#subscriber
        .subscribe(keys.ingestRevocations)
        .then(() => (this.#cutOff ? whenReady(this.#redis).then(() => this.#recheck()) : undefined))
        .then(
          () => (this.#cutOff = false),
          (err: unknown) => log.warn({ err }, 'ingest revocations: not listening yet; retrying at the next connection'),
        );
    });
  }

  async add(record: IngestRecord): Promise<void> {
    await this.#command(() => this.#redis.hset(this.#keys.ingests, record.info.id, JSON.stringify(record)), record.info.id);
    this.#known.add(record.info.id);
  }

  async find(id: string): Promise<IngestRecord | undefined> {
    const text = await this.#command(() => this.#redis.hget(this.#keys.ingests, id), id);
    const record = text === null ? undefined : this.#read(id, text);
    if (record) this.#known.add(id);
    return record;
  }

  async list(room?: string): Promise<IngestRecord[]> {
    const all = await this.#command(() => this.#redis.hgetall(this.#keys.ingests), undefined);
    return Object.entries(all).flatMap(([id, text]) => {
      const record = this.#read(id, text);
      return record && (room === undefined || record.info.room === room) ? [record] : [];
    });
  }

  update(record: IngestRecord): void {
    this.#redis.eval(UPDATE, 1, this.#keys.ingests, record.info.id, JSON.stringify(record)).catch((err: unknown) =>
      // Shown as it was until the next change; the programme itself does not depend on it.
      this.#log.warn(
        { err: err instanceof Error ? err.message : String(err), ingest: record.info.id },
        'ingest state not written to Redis',
      ),
    );
  }

  async remove(id: string): Promise<boolean> {
    const removed = await this.#command(() => this.#redis.eval(REMOVE, 1, this.#keys.ingests, id, this.#keys.ingestRevocations), id);
    return removed === 1;
  }

  onRemoved(listener: (id: string) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    this.#subscriber.disconnect();
    // Sends what is pending first (the state of programmes ended by the shutdown).
    this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  async #command<T>(run: () => Promise<T>, id: string | undefined): Promise<T> {
    await this.#connected;
    try {
      return await run();
    } catch (err) {
      this.#log.warn({ err: err instanceof Error ? err.message : String(err), ingest: id }, 'ingest directory: Redis unreachable');
      throw unreachable();
    }
  }

  /** An entry as stored, or undefined (and dropped) if it expired or cannot be read. */
  #read(id: string, text: string): IngestRecord | undefined {
    let record: IngestRecord | undefined;
    try {
      record = parseIngestRecord(text);
      if (record.info.id !== id) throw new Error(`stored under ${id} but for ${record.info.id}`);
    } catch (err) {
      this.#log.warn({ err, ingest: id }, 'stored ingest unreadable; dropped');
    }
    if (record && !expired(record)) return record;
    void this.#redis.hdel(this.#keys.ingests, id).catch(() => undefined);
    return undefined;
  }

  /** After a reconnection: the known ingests no longer there were revoked (or expired) meanwhile. */
  async #recheck(): Promise<void> {
    const ids = [...this.#known];
    if (ids.length === 0) return;
    const present = await this.#redis.hmget(this.#keys.ingests, ...ids);
    ids.forEach((id, i) => {
      if (present[i] === null) this.#removed(id);
    });
  }

  #removed(id: string): void {
    this.#known.delete(id);
    for (const listener of this.#listeners) listener(id);
  }
}
