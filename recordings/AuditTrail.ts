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
 */
import { EventEmitter } from 'node:events';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ParticipantInfo, Role } from '../signaling/protocol/index.js';
import type { RecordingsLogger } from './logger.js';

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
}

interface AuditTrailEvents {
  appended: [event: AuditEvent];
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

export class AuditTrail extends EventEmitter<AuditTrailEvents> {
  readonly file: string;
  readonly #log: RecordingsLogger | undefined;
  #fd: number | undefined;
  #seq: number;
  /** Set when the file does not end with a newline (a torn line): the next write starts a fresh one. */
  #needsNewline: boolean;
  /** Lines written since the last fdatasync began. */
  #dirty = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** An fdatasync runs in the thread pool; at most one at a time per trail. */
  #syncing = false;
  /** Closed while a background fdatasync still used the fd: closed when it finishes, not under it. */
  #closeAfterSync: number | undefined;
  /** A background fdatasync failed: the next flush() reports it, since append() already returned. */
  #syncError: Error | undefined;

  private constructor(file: string, fd: number, seq: number, needsNewline: boolean, log: RecordingsLogger | undefined) {
    super();
    this.file = file;
    this.#fd = fd;
    this.#seq = seq;
    this.#needsNewline = needsNewline;
    this.#log = log;
  }

  /** Opens (or creates) a trail; reopening an existing one continues its numbering. */
  static open(file: string, options: { log?: RecordingsLogger } = {}): AuditTrail {
    mkdirSync(path.dirname(file), { recursive: true });
    const existing = readIfExists(file);
    const events = parseLines(existing);
    const lastSeq = events.reduce((max, e) => Math.max(max, e.seq), 0);
    const fd = openSync(file, 'a', 0o640);
    return new AuditTrail(file, fd, lastSeq, existing.length > 0 && !existing.endsWith('\n'), options.log);
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

  /**
   * Appends one event: written to the file before returning (safe from a process crash), synced to
   * the disk within GROUP_COMMIT_MS. Throws if the write is refused (disk full, read-only): the
   * caller must know the event was NOT recorded rather than believe it was.
   */
  append(type: AuditEventType, details: { actor?: AuditActor | undefined; data?: AuditData | undefined } = {}): AuditEvent {
    if (this.#fd === undefined) throw new Error(`audit trail ${this.file} is closed`);
    const event: AuditEvent = { seq: this.#seq + 1, at: new Date().toISOString(), type };
    if (details.actor) event.actor = details.actor;
    if (details.data) event.data = details.data;
    const line = `${this.#needsNewline ? '\n' : ''}${JSON.stringify(event)}\n`;
    try {
      writeSync(this.#fd, line);
    } catch (error) {
      // Part of the line may have reached the file: make sure the next event starts on its own line.
      this.#needsNewline = true;
      this.#log?.error({ err: error, file: this.file, type }, 'audit event could not be written');
      throw error;
    }
    this.#needsNewline = false;
    this.#seq = event.seq;
    this.#dirty = true;
    this.#scheduleSync();
    this.emit('appended', event);
    return event;
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

  /** Syncs what is left, then closes the file. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    try {
      this.flush();
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
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
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
