/**
 * The health of the disk the case record is written to (DATA_DIR). A full or failing disk must never
 * take the server down: every write that fails is caught where it happens and reported here, so the
 * operator sees it (`/readyz` degraded with the reason, `/metrics` counting the faults) while the
 * rooms already running go on. Below a free-space floor no recording is started: an hour of video
 * that cannot be kept is worse than a consultation told at once that it is not being recorded.
 */
import { statfsSync } from 'node:fs';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';

/** Where a storage write failed, as counted in `/metrics`. */
export type StorageFaultKind = 'audit_trail' | 'hand_off' | 'recovery' | 'recording';

export interface StorageHealthOptions {
  /** The folder whose file system is watched (DATA_DIR). */
  dataDir: string;
  /** Below this many free bytes no recording starts and readiness is degraded. */
  minFreeBytes: number;
  log: Logger;
}

const MB = 1024 * 1024;

export class StorageHealth {
  readonly dataDir: string;
  readonly minFreeBytes: number;
  readonly #log: Logger;
  readonly #faults = new Map<StorageFaultKind, number>();
  /** Set while the latest storage write failed; a later successful one clears it. */
  #failing: { kind: StorageFaultKind; at: string; message: string } | undefined;
  #statfsWarned = false;

  constructor(options: StorageHealthOptions) {
    this.dataDir = options.dataDir;
    this.minFreeBytes = options.minFreeBytes;
    this.#log = options.log;
  }

  /** Faults counted since start, per kind (every kind listed, zeros included, for stable metrics). */
  get faults(): ReadonlyMap<StorageFaultKind, number> {
    const all = new Map<StorageFaultKind, number>();
    for (const kind of ['audit_trail', 'hand_off', 'recovery', 'recording'] as const) all.set(kind, this.#faults.get(kind) ?? 0);
    return all;
  }

  /** A storage write failed: counted, kept as "the last write failed" until one succeeds. Never throws. */
  fault(kind: StorageFaultKind, error: unknown): void {
    this.#faults.set(kind, (this.#faults.get(kind) ?? 0) + 1);
    const message = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    this.#failing = { kind, at: new Date().toISOString(), message };
  }

  /** A storage write succeeded: the disk takes writes again. */
  ok(): void {
    if (!this.#failing) return;
    this.#log.info({ since: this.#failing.at, kind: this.#failing.kind }, 'storage writes succeed again');
    this.#failing = undefined;
  }

  /**
   * Free bytes on the data disk for this server's user, or undefined if it cannot be read. Asked at
   * readiness probes, metrics scrapes and recording starts only; one statfs(2) takes microseconds.
   */
  freeBytes(): number | undefined {
    try {
      const s = statfsSync(this.dataDir);
      return s.bavail * s.bsize;
    } catch (error) {
      if (!this.#statfsWarned) this.#log.warn({ err: error, dir: this.dataDir }, 'free space on the data disk could not be read');
      this.#statfsWarned = true;
      return undefined;
    }
  }

  /** Whether free space is below the floor (unknown free space is not reported as low). */
  belowFloor(): boolean {
    const free = this.freeBytes();
    return free !== undefined && free < this.minFreeBytes;
  }

  /** Throws UNAVAILABLE with the figures when a recording may not start for lack of space. */
  ensureRoomForRecording(): void {
    if (!this.belowFloor()) return;
    throw new ProtocolError(
      'UNAVAILABLE',
      `recording was not started: ${this.#lowSpaceFigures()}; ask the server's operator to free space`,
    );
  }

  /** Sentences for `/readyz`, empty when the disk is fine. */
  problems(): string[] {
    const problems: string[] = [];
    if (this.belowFloor()) problems.push(`the data disk is nearly full: ${this.#lowSpaceFigures()}; no recording is started`);
    const f = this.#failing;
    if (f) problems.push(`the last case-record storage write failed (${f.kind}, ${f.message}, at ${f.at})`);
    return problems;
  }

  #lowSpaceFigures(): string {
    const free = this.freeBytes() ?? 0;
    const floor = (this.minFreeBytes / MB).toFixed(0);
    return `${(free / MB).toFixed(1)} MB free on the server's data disk, below the floor of ${floor} MB (DATA_MIN_FREE_MB)`;
  }
}
