/**
 * Where programmes are kept: one JSON file per room under `DATA_DIR/programmes`, written atomically
 * (temp file, fsync, rename) so a crash leaves the old or the new version, never half of one. Read
 * once at start; every change is on disk before the caller answers.
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

export class ProgrammeStore {
  readonly #dir: string;
  readonly #records = new Map<string, ProgrammeRecord>();

  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      try {
        const record = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ProgrammeRecord;
        // Written by this code, but a file edited by hand must not put bad details on a public page.
        ProgrammeDetails.parse(record.details);
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

  /** Durable when it returns; throws (and keeps the previous version) if the disk refuses. */
  put(record: ProgrammeRecord): void {
    writeJsonAtomicSync(path.join(this.#dir, `${safeSegment(record.room)}.json`), record);
    this.#records.set(record.room, record);
  }
}
