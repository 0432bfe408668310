/**
 * The append-only audit trail of one room (全程留痕): who joined from which site, who published
 * what, who started or stopped recording, who was muted or removed. One JSON object per line. Lines
 * are never rewritten; a line torn by a crash mid-write is kept (it is evidence) and skipped by readers.
 *
 * Durability, by group commit: `append` writes the line to the file synchronously (one write(2),
 * into the kernel's page cache) before it returns, so events reach the file in `seq` order and a
 * crash of this process (even SIGKILL) loses nothing that `append` returned. Making the file survive
 * a power loss (fdatasync) costs milliseconds; doing it per event on the event loop stalled
 * signaling during a broadcast's join storm. So one fdatasync, off the event loop, covers every event
 * appended during a short window (GROUP_COMMIT_MS): a power loss can cost at most that window.
 * `flush()` and `close()` sync at once, for callers that need everything on disk now.
 *
 * Tamper evidence (see trailChain.ts): each line carries `prev`, the SHA-256 of the line before it,
 * and with a seal key the trail is sealed (an HMAC over its final hash, key id recorded) when it is
 * closed and whenever `seal()` hands it over. Trails written before chaining are still read (recovery
 * needs them); the verifier calls them unverifiable.
 */
import { EventEmitter } from 'node:events';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ParticipantInfo, Role } from '../signaling/protocol/index.js';
import type { RecordingsLogger } from './logger.js';
import {
  headOfLines,
  makeSeal,
  readTrailHead,
  scanTrail,
  hashLine,
  type AuditSealKey,
  type TrailHead,
  type TrailRef,
} from './trailChain.js';

/** Known event types; any other string is accepted so new features need no change here. */
export type KnownAuditEventType =
  | 'room_opened'
  | 'room_closed'
  | 'participant_joined'
  | 'participant_left'
  | 'published'
  | 'unpublished'
  | 'recording_started'
  | 'recording_stopped'
  | 'recording_acknowledged'
  | 'recording_error'
  | 'recording_interrupted'
  | 'recording_track_started'
  | 'recording_track_ended'
  | 'muted'
  | 'removed'
  | 'locked'
  | 'unlocked'
  | 'admitted'
  | 'chat'
  | 'error';
// `string & {}` keeps editor completion for the known names while accepting others.
export type AuditEventType = KnownAuditEventType | (string & {});

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };
export type AuditData = { [key: string]: JsonValue | undefined };

/** Who did it, as the hospital's token named them: the identity in the record is the token's. */
export interface AuditActor {
  participantId: string;
  identity: string;
  name: string;
  role: Role;
  siteId: string;
  siteName: string;
}

export interface AuditEvent {
  /** 1, 2, 3… per trail, without gaps: a missing number shows a lost line. */
  seq: number;
  /** ISO 8601 UTC, millisecond precision. */
  at: string;
  type: AuditEventType;
  actor?: AuditActor;
  data?: AuditData;
  /** The trail's id, on its first line only: the chain's genesis hash is derived from it. */
  trail?: string;
  /** Hex SHA-256 of the line before this one, exactly as written; absent in trails older than chaining. */
  prev?: string;
}

export interface AuditTrailOptions {
  log?: RecordingsLogger;
  /** Seals the trail at `close()` and `seal()`; without it the trail is chained but never sealed. */
  seal?: AuditSealKey;
  /** Names a new trail (in its first line and its genesis hash); default: the file name without `.jsonl`. */
  trailId?: string;
}

interface AuditTrailEvents {
  appended: [event: AuditEvent];
  /** A line (an event or a seal) could not be written: the disk refused it, or took only part of it. */
  writeFailed: [error: Error, type: AuditEventType];
  closed: [];
}

/** How long appended events may wait for their fdatasync: the most a power loss can take. */
export const GROUP_COMMIT_MS = 50;

export function actorFromParticipant(info: ParticipantInfo): AuditActor {
  return {
    participantId: info.id,
    identity: info.identity,
    name: info.displayName,
    role: info.role,
    siteId: info.site.id,
    siteName: info.site.name,
  };
}

/** Where the writer stands in the file: what the next line links to, and the head to report. */
type ChainState = TrailHead & { chainHead: string };

export class AuditTrail extends EventEmitter<AuditTrailEvents> {
  readonly file: string;
  readonly #log: RecordingsLogger | undefined;
  readonly #sealKey: AuditSealKey | undefined;
  readonly #fallbackId: string;
  #fd: number | undefined;
  #seq: number;
  #chain: ChainState;
  /** Set when the file does not end with a newline (a torn line): the next write starts a fresh one. */
  #needsNewline: boolean;
  /**
   * A write failed part-way or not at all: what the file now ends with is unknown, so it is read
   * again before the next line (which must link to the bytes really there, torn or not).
   */
  #stale = false;
  /** Lines written since the last fdatasync began. */
  #dirty = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** An fdatasync runs in the thread pool; at most one at a time per trail. */
  #syncing = false;
  /** Closed while a background fdatasync still used the fd: closed when it finishes, not under it. */
  #closeAfterSync: number | undefined;
  /** A background fdatasync failed: the next flush() reports it, since append() already returned. */
  #syncError: Error | undefined;

  private constructor(file: string, fd: number, options: AuditTrailOptions) {
    super();
    this.file = file;
    this.#fd = fd;
    this.#log = options.log;
    this.#sealKey = options.seal;
    this.#fallbackId = options.trailId ?? path.basename(file, '.jsonl');
    const { chain, needsNewline } = this.#readState();
    this.#chain = chain;
    this.#seq = chain.lastSeq;
    this.#needsNewline = needsNewline;
  }

  /** Opens (or creates) a trail; reopening an existing one continues its numbering and its chain. */
  static open(file: string, options: AuditTrailOptions = {}): AuditTrail {
    mkdirSync(path.dirname(file), { recursive: true });
    const fd = openSync(file, 'a', 0o640);
    try {
      return new AuditTrail(file, fd, options);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The head of a trail file as it is now (for a manifest, or a trail no process has open); null if missing or empty. */
  static headOf(file: string): TrailRef | null {
    const head = readTrailHead(file, path.basename(file, '.jsonl'));
    return head && { ...head, file };
  }

  /** Reads a trail from disk without opening it for writing (delivery, recovery). Missing file = empty. */
  static read(file: string): AuditEvent[] {
    return parseLines(readIfExists(file));
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Where the trail stands now: its final hash, line and byte counts, whether it ends with a seal. */
  head(): TrailRef {
    const { chainHead: _next, ...head } = this.#chain;
    return { ...head, lastSeq: this.#seq, file: this.file };
  }

  /**
   * Seals what the trail holds so far (an HMAC over its final hash, see trailChain.ts) and returns its
   * head: what a case-record entry carries, so the archive copies exactly these bytes. Nothing is
   * written if there is no key, nothing new since the last seal, or the trail is closed. Throws if the
   * seal cannot be written.
   */
  seal(): TrailRef {
    const key = this.#sealKey;
    if (key && this.#fd !== undefined) {
      if (this.#stale) this.#resync();
      const c = this.#chain;
      if (!c.sealed && c.lines > 0) {
        const seal = makeSeal(key, { trail: c.trailId, lines: c.lines, lastSeq: this.#seq, hash: c.hash });
        this.#writeLine(JSON.stringify(seal), 'trail_sealed', true);
        this.#chain.sealed = true;
        this.#chain.keyId = key.keyId;
      }
    }
    return this.head();
  }

  /**
   * Appends one event: written to the file before returning (safe from a process crash), synced to
   * the disk within GROUP_COMMIT_MS. Throws if the write is refused (disk full, read-only): the
   * caller must know the event was NOT recorded rather than believe it was.
   */
  append(type: AuditEventType, details: { actor?: AuditActor | undefined; data?: AuditData | undefined } = {}): AuditEvent {
    if (this.#fd === undefined) throw new Error(`audit trail ${this.file} is closed`);
    if (this.#stale) this.#resync();
    const event: AuditEvent = { seq: this.#seq + 1, at: new Date().toISOString(), type };
    if (details.actor) event.actor = details.actor;
    if (details.data) event.data = details.data;
    if (this.#chain.lines === 0) event.trail = this.#chain.trailId;
    event.prev = this.#chain.chainHead;
    this.#writeLine(JSON.stringify(event), type, false);
    this.#seq = event.seq;
    this.#chain.sealed = false;
    this.emit('appended', event);
    return event;
  }

  /** Writes one line with a single write(2) and moves the chain on to it; throws (and re-reads later) if the disk refuses. */
  #writeLine(text: string, type: AuditEventType, isSeal: boolean): void {
    const body = Buffer.from(text, 'utf8');
    const bytes = Buffer.concat([this.#needsNewline ? Buffer.from('\n') : Buffer.alloc(0), body, Buffer.from('\n')]);
    try {
      const written = writeSync(this.#fd!, bytes);
      // A full disk can take part of a line without an error: that line is torn, and not recorded.
      if (written !== bytes.length) throw Object.assign(new Error(`short write (${written} of ${bytes.length} bytes)`), { code: 'ENOSPC' });
    } catch (error) {
      this.#stale = true;
      this.#log?.error({ err: error, file: this.file, type }, 'audit event could not be written');
      this.emit('writeFailed', error instanceof Error ? error : new Error(String(error)), type);
      throw error;
    }
    const hash = hashLine(body);
    this.#needsNewline = false;
    this.#chain = { ...this.#chain, lines: this.#chain.lines + 1, bytes: this.#chain.bytes + bytes.length, chainHead: hash };
    // The final hash is the last line a seal covers; a seal line itself is only the next link.
    if (!isSeal) this.#chain.hash = hash;
    this.#dirty = true;
    this.#scheduleSync();
  }

  /** Reads where the file really ends (after a failed write) and goes on from there. */
  #resync(): void {
    const { chain, needsNewline } = this.#readState();
    this.#chain = chain;
    this.#needsNewline = needsNewline;
    this.#stale = false;
  }

  #readState(): { chain: ChainState; needsNewline: boolean } {
    const bytes = readBytesIfExists(this.file);
    return { chain: headOfLines(scanTrail(bytes), this.#fallbackId), needsNewline: bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a };
  }

  /** Every event recorded so far, read back from the file (the file, not memory, is the record). */
  events(): AuditEvent[] {
    return AuditTrail.read(this.file);
  }

  /** Puts every event appended so far on disk now (synchronously). Throws if the disk refuses. */
  flush(): void {
    if (this.#fd === undefined) return;
    this.#clearSyncTimer();
    const failedInBackground = this.#syncError;
    this.#syncError = undefined;
    // A background sync still running covers lines this call must also guarantee: sync ourselves.
    if (this.#dirty || this.#syncing) {
      this.#dirty = false;
      try {
        fdatasyncSync(this.#fd);
      } catch (error) {
        this.#dirty = true;
        this.#log?.error({ err: error, file: this.file }, 'audit trail could not be synced to disk');
        throw error;
      }
    }
    // After syncing what is left: the earlier failure may have lost lines this call cannot vouch for.
    if (failedInBackground) throw failedInBackground;
  }

  /** Seals the trail (if it has a key), syncs what is left, then closes the file. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    try {
      try {
        this.seal();
      } finally {
        this.flush();
      }
    } finally {
      this.#fd = undefined;
      // A background fdatasync may still hold this fd number: closing it now could let a new file
      // reuse the number under that call. Its callback closes it instead.
      if (this.#syncing) this.#closeAfterSync = fd;
      else closeSync(fd);
      this.emit('closed');
    }
  }

  /** One fdatasync for everything appended during the next GROUP_COMMIT_MS. */
  #scheduleSync(): void {
    if (this.#syncTimer || this.#syncing) return; // the pending or running sync's callback re-schedules
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#syncInBackground();
    }, GROUP_COMMIT_MS);
    // Does not keep the process alive: the lines are in the page cache, the kernel writes them anyway.
    this.#syncTimer.unref();
  }

  #syncInBackground(): void {
    const fd = this.#fd;
    if (fd === undefined || !this.#dirty) return;
    this.#dirty = false;
    this.#syncing = true;
    // In the thread pool, so a slow disk delays only durability, never the event loop.
    fdatasync(fd, (error) => {
      this.#syncing = false;
      if (error) {
        this.#syncError = error;
        this.#log?.error({ err: error, file: this.file }, 'audit trail could not be synced to disk');
      }
      if (this.#closeAfterSync !== undefined) {
        closeSync(this.#closeAfterSync);
        this.#closeAfterSync = undefined;
        return;
      }
      if (this.#dirty) this.#scheduleSync(); // events appended while this sync ran
    });
  }

  #clearSyncTimer(): void {
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
  }
}

function readIfExists(file: string): string {
  return readBytesIfExists(file).toString('utf8');
}

function readBytesIfExists(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
}

function parseLines(text: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as Partial<AuditEvent>;
      if (typeof value.seq === 'number' && typeof value.at === 'string' && typeof value.type === 'string') events.push(value as AuditEvent);
    } catch {
      // a line torn by a crash: kept in the file, not returned as an event
    }
  }
  return events;
}
