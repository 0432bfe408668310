/**
 * Programmes of a cluster, in Redis: one hash for all of them (`ClusterKeys.programmes`), so a
 * programme saved through any node is seen by every node, whichever one a patient's link reaches.
 * Each node keeps a copy in memory for its pages' polls: loaded at start and again after every
 * reconnection (changes published while it was cut off are not replayed to it), and kept fresh by a
 * pub/sub message naming the room each change was made to. A change is written only over the version
 * it was made from (compare-and-set in a script): one made meanwhile through another node — the
 * serving node marking the programme ended while a moderator edits it elsewhere — is not lost, the
 * change is made again on top of it.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { ClusterKeys } from '../cluster/keys.js';
import { connectRedis, whenReady, type RedisTarget } from '../cluster/redis.js';
import type { Logger } from '../logger.js';
import { parseRecord, type ProgrammeChange, type ProgrammeRecord, type ProgrammeStore } from './ProgrammeStore.js';

/**
 * KEYS[1] the programmes' hash; ARGV: room, the stored text the change was made from ('' for none),
 * the new text, the change channel, its message. {1} when written, {0, what is stored now} otherwise.
 */
const COMPARE_AND_SET = `
local stored = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if stored ~= ARGV[2] then return {0, stored} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, ''}
`;
/** Attempts at a change whose base keeps being replaced through other nodes (in practice one or two). */
const CHANGE_ATTEMPTS = 5;

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
  /** Each programme with its text as stored: what a change is compared against (record undefined: unreadable). */
  readonly #records = new Map<string, { record: ProgrammeRecord | undefined; stored: string }>();
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
    let loaded!: () => void;
    this.ready = new Promise((resolve) => (loaded = resolve));
    const reread = (): void =>
      void this.#loadAll().then(loaded, (err: unknown) =>
        log.warn({ err }, 'programmes could not be read from Redis; retrying at the next connection'),
      );
    // Listening first, then reading: a change made in between is heard, not missed. Again at every
    // reconnection (commands are not queued while Redis is away, and messages sent meanwhile are lost).
    this.#subscriber.on('ready', () => {
      this.#subscriber
        .subscribe(keys.programmeChanges)
        .then(() => whenReady(this.#redis))
        .then(reread, (err: unknown) => log.warn({ err }, 'programme changes: not listening yet; retrying at the next connection'));
    });
    // Only the command connection came back: what it failed to read meanwhile is read again.
    this.#redis.on('ready', () => {
      if (this.#subscriber.status === 'ready') reread();
    });
  }

  get(room: string): ProgrammeRecord | undefined {
    return this.#records.get(room)?.record;
  }

  all(): ProgrammeRecord[] {
    return [...this.#records.values()].flatMap((e) => (e.record ? [e.record] : []));
  }

  async change(room: string, change: ProgrammeChange): Promise<ProgrammeRecord | undefined> {
    const message = JSON.stringify({ room, from: this.#id });
    for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
      const base = this.#records.get(room);
      const next = change(base?.record);
      if (!next) return base?.record;
      const stored = JSON.stringify(next);
      let reply: [number, string];
      try {
        reply = (await this.#redis.eval(
          COMPARE_AND_SET,
          1,
          this.#keys.programmes,
          room,
          base?.stored ?? '',
          stored,
          this.#keys.programmeChanges,
          message,
        )) as [number, string];
      } catch (err) {
        this.#log.warn({ err: err instanceof Error ? err.message : String(err), room }, 'programme not saved: Redis unreachable');
        throw unreachable();
      }
      if (reply[0] === 1) {
        this.#records.set(room, { record: next, stored });
        return next;
      }
      // Written meanwhile through another node (its message may still be on its way): again, on that version.
      if (reply[1] === '') this.#records.delete(room);
      else this.#take(room, reply[1]);
    }
    throw unreachable();
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
      const before = this.#records.get(room)?.stored;
      const record = this.#take(room, text);
      // Changed while this node was cut off (or before it started): its messages were missed.
      if (record && before !== text) for (const listener of this.#listeners) listener(record);
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
    let record: ProgrammeRecord | undefined;
    try {
      record = parseRecord(text);
      if (record.room !== room) throw new Error(`stored under ${room} but for ${record.room}`);
    } catch (err) {
      // Not shown; a save replaces it (compared against this text).
      this.#log.warn({ err, room }, 'stored programme unreadable; ignored');
      record = undefined;
    }
    this.#records.set(room, { record, stored: text });
    return record;
  }
}
