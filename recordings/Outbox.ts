/**
 * Durable outbox for remote case-record sinks. The hospital's record system may be down for hours;
 * an entry must still arrive, once. `enqueue` writes the entry to `<dir>/pending/<sink>/<id>.json`
 * (atomically, before any attempt), a loop per sink delivers with exponential backoff and jitter,
 * and success moves the file to `delivered/<sink>/`. After a restart the pending files are picked up
 * again and delivered ones are never re-sent. A crash between the receiver's "OK" and the move can
 * repeat one delivery: receivers de-duplicate by the entry id (sent as the idempotency key).
 * One process owns an outbox folder at a time.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RecordingsLogger } from './logger.js';
import type { CaseRecordEntry, CaseRecordSink } from './CaseRecord.js';
import { fsyncDir, safeSegment, toError, writeJsonAtomicSync } from './fsutil.js';

export interface OutboxOptions {
  dir: string;
  sinks: CaseRecordSink[];
  log: RecordingsLogger;
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
  attempts: number;
  dueAt: number;
}

export class Outbox extends EventEmitter<OutboxEvents> {
  readonly #queues: SinkQueue[];
  #closed = false;

  private constructor(queues: SinkQueue[]) {
    super();
    this.#queues = queues;
  }

  /** Opens the folder, re-reads what is still pending from an earlier run and starts delivering it. */
  static open(options: OutboxOptions): Outbox {
    const names = new Set<string>();
    for (const sink of options.sinks) {
      if (names.has(sink.name)) throw new Error(`two case-record sinks are named "${sink.name}"`);
      names.add(sink.name);
    }
    const queues: SinkQueue[] = [];
    const outbox = new Outbox(queues);
    for (const sink of options.sinks) queues.push(new SinkQueue(outbox, sink, options));
    for (const q of queues) q.start();
    return outbox;
  }

  /**
   * Persists the entry for every sink (or the named ones) and returns once it is on disk; delivery
   * follows in the background. Enqueuing an entry already pending or delivered changes nothing.
   */
  enqueue(entry: CaseRecordEntry, sinkNames?: string[]): void {
    if (this.#closed) throw new Error('the case-record outbox is closed');
    for (const q of this.#queues) if (!sinkNames || sinkNames.includes(q.sink.name)) q.add(entry);
  }

  /** Entries not yet delivered (for metrics), for one sink or all. */
  pendingCount(sinkName?: string): number {
    return this.#queues.filter((q) => !sinkName || q.sink.name === sinkName).reduce((n, q) => n + q.pending, 0);
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
class SinkQueue {
  readonly sink: CaseRecordSink;
  readonly #outbox: Outbox;
  readonly #pendingDir: string;
  readonly #deliveredDir: string;
  readonly #invalidDir: string;
  readonly #log: RecordingsLogger;
  readonly #base: number;
  readonly #max: number;
  readonly #jitter: number;
  /** Insertion order = enqueue order, so entries go out first-in first-out. */
  readonly #items = new Map<string, PendingItem>();
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #closed = false;

  constructor(outbox: Outbox, sink: CaseRecordSink, options: OutboxOptions) {
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
  }

  get pending(): number {
    return this.#items.size;
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
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      this.#items.set(name, { file: name, attempts: 0, dueAt: 0 });
    }
    if (this.#items.size > 0) this.#log.info({ pending: this.#items.size }, 'case records pending from an earlier run');
    this.#kick();
  }

  add(entry: CaseRecordEntry): void {
    const file = `${safeSegment(entry.id)}.json`;
    if (this.#items.has(file) || existsSync(path.join(this.#deliveredDir, file))) return;
    writeJsonAtomicSync(path.join(this.#pendingDir, file), entry);
    this.#items.set(file, { file, attempts: 0, dueAt: 0 });
    this.#log.debug({ entry: entry.id, pending: this.#items.size }, 'case record queued');
    this.#kick();
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
      .catch((err: unknown) => this.#log.error({ err }, 'case record delivery loop failed'))
      .finally(() => {
        this.#loop = undefined;
        this.#schedule();
      });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const now = Date.now();
      const due = [...this.#items.values()].find((i) => i.dueAt <= now);
      if (!due) return;
      await this.#attempt(due);
    }
  }

  /** Sleeps until the earliest retry is due. */
  #schedule(): void {
    if (this.#closed || this.#items.size === 0) return;
    const next = Math.min(...[...this.#items.values()].map((i) => i.dueAt));
    this.#timer = setTimeout(() => this.#kick(), Math.max(0, next - Date.now()));
    this.#timer.unref(); // pending entries are on disk: they must not keep a stopping process alive
  }

  async #attempt(item: PendingItem): Promise<void> {
    const pendingFile = path.join(this.#pendingDir, item.file);
    let entry: CaseRecordEntry;
    try {
      entry = JSON.parse(readFileSync(pendingFile, 'utf8')) as CaseRecordEntry;
    } catch (err) {
      // Unreadable: set aside for a person to look at, never dropped and never retried forever.
      mkdirSync(this.#invalidDir, { recursive: true });
      if (existsSync(pendingFile)) renameSync(pendingFile, path.join(this.#invalidDir, item.file));
      this.#items.delete(item.file);
      this.#log.error({ err, file: item.file }, 'unreadable case record set aside in invalid/');
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
        'case record delivery failed; will retry',
      );
      this.#outbox.emit('retrying', this.sink.name, entry.id, error, item.attempts, delayMs);
      return;
    }
    try {
      renameSync(pendingFile, path.join(this.#deliveredDir, item.file));
      fsyncDir(this.#deliveredDir);
    } catch (err) {
      // Delivered, but not noted: it will be sent again later (the receiver de-duplicates by id).
      item.dueAt = Date.now() + this.#max;
      this.#log.error({ err, entry: entry.id }, 'delivered case record could not be moved to delivered/');
      return;
    }
    this.#items.delete(item.file);
    this.#log.info({ entry: entry.id, attempts: item.attempts, pending: this.#items.size }, 'case record delivered');
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
