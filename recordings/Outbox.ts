/**
 * Durable outbox for remote case-record sinks. The hospital's record system may be down for hours;
 * an entry must still arrive, once. `enqueue` writes the entry to `<dir>/pending/<sink>/<id>.json`
 * (atomically, before any attempt), a loop per sink delivers with exponential backoff and jitter,
 * and success moves the file to `delivered/<sink>/`. After a restart the pending files are picked up
 * again and delivered ones are never re-sent. A crash between the receiver's "OK" and the move can
 * repeat one delivery: receivers de-duplicate by the entry id (sent as the idempotency key).
 * One process owns an outbox folder at a time.
 *
 * Case records are its first cargo; any item with a stable id can be carried (the room event
 * webhooks use it too). With `orderKey`, items sharing a key (a room) go out strictly in the order
 * they were queued — a later one waits until the earlier is delivered — while other keys go ahead.
 * Order survives restarts because pending files are read back in name order: such items need ids
 * that sort in the order they are queued.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RecordingsLogger } from './logger.js';
import type { CaseRecordEntry } from './CaseRecord.js';
import { fsyncDir, safeSegment, toError, writeJsonAtomicSync } from './fsutil.js';

/** What an outbox carries: anything with a stable id, which receivers de-duplicate by. */
export interface OutboxItem {
  readonly id: string;
}

/** Where an outbox delivers: resolves once the receiver has the item, rejects otherwise (retried). */
export interface OutboxSink<T extends OutboxItem> {
  readonly name: string;
  deliver(item: T, signal?: AbortSignal): Promise<void>;
}

export interface OutboxOptions<T extends OutboxItem = CaseRecordEntry> {
  dir: string;
  sinks: OutboxSink<T>[];
  log: RecordingsLogger;
  /** What an item is called in log lines and errors; default "case record". */
  label?: string;
  /**
   * Items with the same key are delivered one at a time in queue order: one that fails holds back
   * the later ones of its key (never another key's). Without it every item stands alone.
   */
  orderKey?: (item: T) => string;
  /** Deliveries a sink may have in flight at once, each of a different key; default 1. */
  concurrency?: number;
  /** Keep delivered items in `delivered/` (so re-enqueuing one is a no-op); default true. False deletes them. */
  keepDelivered?: boolean;
  /** First retry delay (ms); doubles per failed attempt. */
  baseDelayMs?: number;
  /** Longest delay between attempts (ms). */
  maxDelayMs?: number;
  /** Fraction of each delay taken off at random (0–1), so many servers do not retry in step. */
  jitter?: number;
}

interface OutboxEvents {
  delivered: [sink: string, entryId: string, attempts: number];
  retrying: [sink: string, entryId: string, error: Error, attempt: number, delayMs: number];
}

interface PendingItem {
  file: string;
  /** Items of one lane go out in order; an item without an order key is a lane of its own. */
  lane: string;
  attempts: number;
  dueAt: number;
  /** When it was queued (epoch ms): from an earlier run, when its file was written. */
  since: number;
}

export class Outbox<T extends OutboxItem = CaseRecordEntry> extends EventEmitter<OutboxEvents> {
  readonly #queues: SinkQueue<T>[];
  readonly #label: string;
  #closed = false;

  private constructor(queues: SinkQueue<T>[], label: string) {
    super();
    this.#queues = queues;
    this.#label = label;
  }

  /** Opens the folder, re-reads what is still pending from an earlier run and starts delivering it. */
  static open<T extends OutboxItem = CaseRecordEntry>(options: OutboxOptions<T>): Outbox<T> {
    const label = options.label ?? 'case record';
    const names = new Set<string>();
    for (const sink of options.sinks) {
      if (names.has(sink.name)) throw new Error(`two ${label} sinks are named "${sink.name}"`);
      names.add(sink.name);
    }
    const queues: SinkQueue<T>[] = [];
    const outbox = new Outbox<T>(queues, label);
    for (const sink of options.sinks) queues.push(new SinkQueue(outbox, sink, options));
    for (const q of queues) q.start();
    return outbox;
  }

  /**
   * Persists the entry for every sink (or the named ones) and returns once it is on disk; delivery
   * follows in the background. Enqueuing an entry already pending or delivered changes nothing.
   */
  enqueue(entry: T, sinkNames?: string[]): void {
    if (this.#closed) throw new Error(`the ${this.#label} outbox is closed`);
    for (const q of this.#queues) if (!sinkNames || sinkNames.includes(q.sink.name)) q.add(entry);
  }

  /** Entries not yet delivered (for metrics), for one sink or all. */
  pendingCount(sinkName?: string): number {
    return this.#queues.filter((q) => !sinkName || q.sink.name === sinkName).reduce((n, q) => n + q.pending, 0);
  }

  /** When the longest-waiting entry was queued (epoch ms), for any sink; undefined when nothing waits. */
  oldestPendingSince(): number | undefined {
    const since = this.#queues.flatMap((q) => q.oldestSince ?? []);
    return since.length ? Math.min(...since) : undefined;
  }

  isDelivered(sinkName: string, entryId: string): boolean {
    return this.#queues.find((q) => q.sink.name === sinkName)?.isDelivered(entryId) ?? false;
  }

  /** What waits for each sink, in queue order (the operators' view; their last errors come with 'retrying'). */
  deliveries(): { sink: string; pending: PendingDelivery[] }[] {
    return this.#queues.map((q) => ({ sink: q.sink.name, pending: q.pendingDeliveries() }));
  }

  /** Makes the entry's pending deliveries due now (an operator's retry); returns the sinks it waits for. */
  retryNow(entryId: string): string[] {
    return this.#queues.filter((q) => q.retryNow(entryId)).map((q) => q.sink.name);
  }

  /** Resolves true once nothing is pending, false if `timeoutMs` passes first. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pendingCount() > 0) {
      if (Date.now() >= deadline || this.#closed) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Stops the loops and aborts deliveries in flight; what is pending stays on disk for next time. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#queues.map((q) => q.close()));
  }
}

/** The pending entries and delivery loop of one sink: a sink that is down never holds up another. */
class SinkQueue<T extends OutboxItem> {
  readonly sink: OutboxSink<T>;
  readonly #outbox: Outbox<T>;
  readonly #pendingDir: string;
  readonly #deliveredDir: string;
  readonly #invalidDir: string;
  readonly #log: RecordingsLogger;
  readonly #base: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #label: string;
  readonly #orderKey: ((item: T) => string) | undefined;
  readonly #concurrency: number;
  readonly #keepDelivered: boolean;
  /** Insertion order = enqueue order, so entries go out first-in first-out. */
  readonly #items = new Map<string, PendingItem>();
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #closed = false;

  constructor(outbox: Outbox<T>, sink: OutboxSink<T>, options: OutboxOptions<T>) {
    this.#outbox = outbox;
    this.sink = sink;
    const folder = safeSegment(sink.name);
    this.#pendingDir = path.join(options.dir, 'pending', folder);
    this.#deliveredDir = path.join(options.dir, 'delivered', folder);
    this.#invalidDir = path.join(options.dir, 'invalid', folder);
    for (const d of [this.#pendingDir, this.#deliveredDir]) mkdirSync(d, { recursive: true, mode: 0o750 });
    this.#log = options.log.child({ sink: sink.name });
    this.#base = options.baseDelayMs ?? 1000;
    this.#max = options.maxDelayMs ?? 300_000;
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
    this.#label = options.label ?? 'case record';
    this.#orderKey = options.orderKey;
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.#keepDelivered = options.keepDelivered ?? true;
  }

  get pending(): number {
    return this.#items.size;
  }

  /** When the longest-waiting entry was queued (those of an earlier run are sent in name order, not age order). */
  get oldestSince(): number | undefined {
    let oldest: number | undefined;
    for (const item of this.#items.values()) if (oldest === undefined || item.since < oldest) oldest = item.since;
    return oldest;
  }

  isDelivered(entryId: string): boolean {
    return existsSync(path.join(this.#deliveredDir, `${safeSegment(entryId)}.json`));
  }

  pendingDeliveries(): PendingDelivery[] {
    return [...this.#items.values()].map((i) => ({
      entryId: i.file.replace(/\.json$/, ''),
      attempts: i.attempts,
      dueAt: i.dueAt,
      queuedAt: fileTime(path.join(this.#pendingDir, i.file)),
    }));
  }

  retryNow(entryId: string): boolean {
    const item = this.#items.get(`${safeSegment(entryId)}.json`);
    if (!item) return false;
    item.dueAt = 0;
    this.#kick();
    return true;
  }

  start(): void {
    const names = readdirSync(this.#pendingDir);
    for (const name of names) {
      if (name.endsWith('.tmp')) rmSync(path.join(this.#pendingDir, name), { force: true }); // a write cut short
    }
    const queuedAt = (name: string) => {
      try {
        return statSync(path.join(this.#pendingDir, name)).mtimeMs;
      } catch {
        return Date.now();
      }
    };
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      this.#items.set(name, { file: name, lane: this.#laneOfFile(name), attempts: 0, dueAt: 0, since: queuedAt(name) });
    }
    if (this.#items.size > 0) this.#log.info({ pending: this.#items.size }, `${this.#label}s pending from an earlier run`);
    this.#kick();
  }

  add(entry: T): void {
    const file = `${safeSegment(entry.id)}.json`;
    if (this.#items.has(file) || existsSync(path.join(this.#deliveredDir, file))) return;
    writeJsonAtomicSync(path.join(this.#pendingDir, file), entry);
    this.#items.set(file, { file, lane: this.#orderKey?.(entry) ?? file, attempts: 0, dueAt: 0, since: Date.now() });
    this.#log.debug({ entry: entry.id, pending: this.#items.size }, `${this.#label} queued`);
    this.#kick();
  }

  /** The lane of an item read back after a restart; one that cannot be read stands alone (and is set aside when tried). */
  #laneOfFile(file: string): string {
    if (!this.#orderKey) return file;
    try {
      return this.#orderKey(JSON.parse(readFileSync(path.join(this.#pendingDir, file), 'utf8')) as T);
    } catch {
      return file;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort(new Error('outbox closed'));
    await this.#loop;
  }

  /** Starts the loop now unless it is running (it re-checks the queue before it stops). */
  #kick(): void {
    if (this.#closed || this.#loop) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#loop = this.#run()
      .catch((err: unknown) => this.#log.error({ err }, `${this.#label} delivery loop failed`))
      .finally(() => {
        this.#loop = undefined;
        this.#schedule();
      });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const due = this.#dueHeads(Date.now());
      if (due.length === 0) return;
      await Promise.all(due.map((item) => this.#attempt(item)));
    }
  }

  /** The first item of each lane, if it is due (up to `concurrency` of them): a lane's later items wait for its first. */
  #dueHeads(now: number): PendingItem[] {
    const seen = new Set<string>();
    const due: PendingItem[] = [];
    for (const item of this.#items.values()) {
      if (seen.has(item.lane)) continue;
      seen.add(item.lane);
      if (item.dueAt <= now) due.push(item);
      if (due.length >= this.#concurrency) break;
    }
    return due;
  }

  /** Sleeps until the earliest retry of a lane's first item is due. */
  #schedule(): void {
    if (this.#closed || this.#items.size === 0) return;
    const heads = new Map<string, number>();
    for (const i of this.#items.values()) if (!heads.has(i.lane)) heads.set(i.lane, i.dueAt);
    const next = Math.min(...heads.values());
    this.#timer = setTimeout(() => this.#kick(), Math.max(0, next - Date.now()));
    this.#timer.unref(); // pending entries are on disk: they must not keep a stopping process alive
  }

  async #attempt(item: PendingItem): Promise<void> {
    const pendingFile = path.join(this.#pendingDir, item.file);
    let entry: T;
    try {
      entry = JSON.parse(readFileSync(pendingFile, 'utf8')) as T;
    } catch (err) {
      // Unreadable: set aside for a person to look at, never dropped and never retried forever.
      mkdirSync(this.#invalidDir, { recursive: true });
      if (existsSync(pendingFile)) renameSync(pendingFile, path.join(this.#invalidDir, item.file));
      this.#items.delete(item.file);
      this.#log.error({ err, file: item.file }, `unreadable ${this.#label} set aside in invalid/`);
      return;
    }
    item.attempts++;
    try {
      await this.sink.deliver(entry, this.#abort.signal);
    } catch (err) {
      if (this.#closed) return;
      const error = toError(err);
      const exp = Math.min(this.#max, this.#base * 2 ** Math.min(item.attempts - 1, 30));
      const delayMs = Math.round(exp * (1 - this.#jitter * Math.random()));
      item.dueAt = Date.now() + delayMs;
      this.#log.warn(
        { entry: entry.id, attempt: item.attempts, retryInMs: delayMs, pending: this.#items.size, err: error.message },
        `${this.#label} delivery failed; will retry`,
      );
      this.#outbox.emit('retrying', this.sink.name, entry.id, error, item.attempts, delayMs);
      return;
    }
    try {
      if (this.#keepDelivered) renameSync(pendingFile, path.join(this.#deliveredDir, item.file));
      else rmSync(pendingFile);
      fsyncDir(this.#keepDelivered ? this.#deliveredDir : this.#pendingDir);
    } catch (err) {
      // Delivered, but not noted: it will be sent again later (the receiver de-duplicates by id).
      item.dueAt = Date.now() + this.#max;
      this.#log.error({ err, entry: entry.id }, `delivered ${this.#label} could not be moved out of pending/`);
      return;
    }
    this.#items.delete(item.file);
    this.#log.info({ entry: entry.id, attempts: item.attempts, pending: this.#items.size }, `${this.#label} delivered`);
    this.#outbox.emit('delivered', this.sink.name, entry.id, item.attempts);
  }
}

/** A pending file's modification time: written once, when the entry was queued. */
function fileTime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now(); // delivered or set aside meanwhile
  }
}

/** One entry waiting for one sink. */
export interface PendingDelivery {
  entryId: string;
  /** Attempts made by this process. */
  attempts: number;
  /** When it was queued: its pending file's time (kept across restarts). */
  queuedAt: number;
  /** When the next attempt is due; 0: as soon as the loop gets to it. */
  dueAt: number;
}
