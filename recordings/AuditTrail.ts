/**
 * The append-only audit trail of one room (全程留痕): who joined from which site, who published
 * what, who started or stopped recording, who was muted or removed. One JSON object per line, written
 * and flushed to disk before `append` returns, so a crash never loses an event that was reported as
 * recorded. Lines are never rewritten; a line torn by a crash mid-write is kept (it is evidence) and
 * skipped by readers.
 */
import { EventEmitter } from 'node:events';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ParticipantInfo, Role } from '../signaling/protocol/index.js';
import type { Logger } from '../server/logger.js';

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
  readonly #log: Logger | undefined;
  #fd: number | undefined;
  #seq: number;
  /** Set when the file does not end with a newline (a torn line): the next write starts a fresh one. */
  #needsNewline: boolean;

  private constructor(file: string, fd: number, seq: number, needsNewline: boolean, log: Logger | undefined) {
    super();
    this.file = file;
    this.#fd = fd;
    this.#seq = seq;
    this.#needsNewline = needsNewline;
    this.#log = log;
  }

  /** Opens (or creates) a trail; reopening an existing one continues its numbering. */
  static open(file: string, options: { log?: Logger } = {}): AuditTrail {
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
   * Appends one event and flushes it to disk before returning. Throws if the disk refuses (full,
   * read-only): the caller must know the event was NOT recorded rather than believe it was.
   */
  append(type: AuditEventType, details: { actor?: AuditActor | undefined; data?: AuditData | undefined } = {}): AuditEvent {
    if (this.#fd === undefined) throw new Error(`audit trail ${this.file} is closed`);
    const event: AuditEvent = { seq: this.#seq + 1, at: new Date().toISOString(), type };
    if (details.actor) event.actor = details.actor;
    if (details.data) event.data = details.data;
    const line = `${this.#needsNewline ? '\n' : ''}${JSON.stringify(event)}\n`;
    try {
      writeSync(this.#fd, line);
      fdatasyncSync(this.#fd);
    } catch (error) {
      // Part of the line may have reached the file: make sure the next event starts on its own line.
      this.#needsNewline = true;
      this.#log?.error({ err: error, file: this.file, type }, 'audit event could not be written');
      throw error;
    }
    this.#needsNewline = false;
    this.#seq = event.seq;
    this.emit('appended', event);
    return event;
  }

  /** Every event recorded so far, read back from the file (the file, not memory, is the record). */
  events(): AuditEvent[] {
    return AuditTrail.read(this.file);
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    this.emit('closed');
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
