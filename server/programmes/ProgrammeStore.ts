/**
 * Where programmes are kept. Reads are from memory (a page polls its view every few seconds); a change
 * is durable before `put` resolves. A single node keeps one JSON file per room (this file); a cluster
 * keeps them in Redis, shared by every node (RedisProgrammeStore).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { safeSegment, writeJsonAtomicSync } from '../../recordings/fsutil.js';
import { ProgrammeDetails, type ProgrammeReplay, type RoomKind } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';

export interface ProgrammeRecord {
  room: string;
  kind: RoomKind;
  details: ProgrammeDetails;
  createdAt: string;
  updatedAt: string;
  /** Who last edited it (token `sub`): kept with the data, not written to logs. */
  updatedBy: string;
  /** The presenter's video first reached this node's room (the last time it went live). */
  startedAt: string | null;
  /** The room closed after it had gone live. */
  endedAt: string | null;
  /** The kept replay, with the folder name under the replay root. */
  replay: (ProgrammeReplay & { key: string }) | null;
}

/** What a change makes of a programme as it is now (undefined: there is none); undefined back: leave it. */
export type ProgrammeChange = (current: ProgrammeRecord | undefined) => ProgrammeRecord | undefined;

export interface ProgrammeStore {
  get(room: string): ProgrammeRecord | undefined;
  all(): ProgrammeRecord[];
  /**
   * Applies `change` to the programme as it is now and keeps the result, durable when it resolves
   * (with what is kept). Clustered, a version written meanwhile through another node is not
   * overwritten: `change` runs again on it. Rejects, keeping the previous version, if the disk or
   * Redis refuses.
   */
  change(room: string, change: ProgrammeChange): Promise<ProgrammeRecord | undefined>;
  /** Resolves once what was kept before this start has been read. */
  readonly ready: Promise<void>;
  /** `listener` hears of a programme another node changed (clustered; a single node has no other). */
  onChanged(listener: (record: ProgrammeRecord) => void): void;
  close(): void;
}

/**
 * One JSON file per room under `DATA_DIR/programmes`, written atomically (temp file, fsync, rename) so
 * a crash leaves the old or the new version, never half of one. Read once at start.
 */
export class FileProgrammeStore implements ProgrammeStore {
  readonly ready = Promise.resolve();
  readonly #dir: string;
  readonly #records = new Map<string, ProgrammeRecord>();

  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      try {
        const record = parseRecord(readFileSync(path.join(dir, name), 'utf8'));
        this.#records.set(record.room, record);
      } catch (err) {
        log.warn({ err, file: name }, 'programme file unreadable; ignored');
      }
    }
  }

  get(room: string): ProgrammeRecord | undefined {
    return this.#records.get(room);
  }

  all(): ProgrammeRecord[] {
    return [...this.#records.values()];
  }

  change(room: string, change: ProgrammeChange): Promise<ProgrammeRecord | undefined> {
    const current = this.#records.get(room);
    const next = change(current);
    if (!next) return Promise.resolve(current);
    try {
      writeJsonAtomicSync(path.join(this.#dir, `${safeSegment(room)}.json`), next);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.#records.set(room, next);
    return Promise.resolve(next);
  }

  onChanged(): void {
    // One node: every change is its own.
  }

  close(): void {
    // Nothing held open.
  }
}

/** A stored record, checked: written by this code, but edited by hand it must not put bad details on a public page. */
export function parseRecord(text: string): ProgrammeRecord {
  const record = JSON.parse(text) as ProgrammeRecord;
  ProgrammeDetails.parse(record.details);
  if (typeof record.room !== 'string') throw new Error('a programme without its room');
  return record;
}
