/**
 * Where the regulator's evidence goes: every room gets an audit trail and may be recorded; finished
 * recordings and trails become case-record entries, archived locally at once (a folder per case) and
 * queued in a durable outbox for the hospital's systems (signed webhook, FHIR). At start it hands over
 * whatever a crashed process left behind: interrupted recordings and trails never delivered.
 *
 * A storage fault never takes the process down: every hand-off is caught (what failed stays on disk
 * and is handed over at the next start), each item recovered at start is independent of the others
 * (one that fails is logged and left for the next start; the server starts anyway), and faults are
 * reported to StorageHealth (readiness, metrics).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AuditTrail,
  auditEntry,
  FhirSink,
  FilesystemSink,
  markHandedOff,
  Outbox,
  recoverRecordings,
  WebhookSink,
  type AuditSealKey,
  type CaseRecordEntry,
  type CaseRecordFile,
  type CaseRecordSink,
  type TrailRef,
} from '../../recordings/index.js';
import { safeSegment } from '../../recordings/fsutil.js';
import type { RecordsConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Room } from '../rooms/Room.js';
import { RoomRecord, type RecordingFailureStage } from './RoomRecord.js';
import { StorageHealth, type StorageFaultKind } from './StorageHealth.js';

const DELIVERED = '.delivered';
/** How often room trails that could not be handed over while running are tried again. */
const LEFT_RETRY_MS = 60_000;
/** Entries handed over lately, kept for the operators' view. */
const RECENT_ENTRIES = 50;

/** An entry handed over (archived and queued) by this process, for the operators' view. */
export interface HandedOffEntry {
  id: string;
  caseId: string | null;
  roomId: string;
  roomKind: CaseRecordEntry['roomKind'];
  createdAt: string;
  handedOffAt: string;
  /** A recording's entry (with its manifest), or a room's trail alone. */
  recording: boolean;
  files: number;
}

export class CaseRecordService {
  readonly archive: FilesystemSink;
  /** The data disk's free space and the storage faults seen (readiness, metrics). */
  readonly storage: StorageHealth;
  readonly #config: RecordsConfig;
  readonly #outbox: Outbox | undefined;
  readonly #log: Logger;
  readonly #rooms = new Map<Room, RoomRecord>();
  readonly #auditSeal: AuditSealKey;
  /** Trails of closed rooms whose hand-off failed (a full disk): tried again while running, and at the next start anyway. */
  readonly #leftTrails = new Set<string>();
  readonly #recent: HandedOffEntry[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #retrying: Promise<number> | undefined;
  readonly #recordingFailures = new Map<RecordingFailureStage, number>();

  private constructor(config: RecordsConfig, archive: FilesystemSink, outbox: Outbox | undefined, log: Logger) {
    this.#config = config;
    this.archive = archive;
    this.#outbox = outbox;
    this.#log = log;
    this.#auditSeal = config.auditSeal ?? ephemeralSealKey(log);
    this.storage = new StorageHealth({ dataDir: config.dataDir, minFreeBytes: config.minFreeBytes, log });
  }

  static async start(config: RecordsConfig, log: Logger): Promise<CaseRecordService> {
    try {
      mkdirSync(config.dataDir, { recursive: true }); // its free space is watched from the start
    } catch (err) {
      log.error({ err, dir: config.dataDir }, 'the data folder could not be created');
    }
    const archive = new FilesystemSink({ root: config.caseRecordDir });
    const remote = remoteSinks(config);
    const outbox = remote.length
      ? Outbox.open({
          dir: config.outboxDir,
          sinks: remote,
          log: log.child({ component: 'outbox' }),
          baseDelayMs: config.outboxRetry.baseMs,
          maxDelayMs: config.outboxRetry.maxMs,
        })
      : undefined;
    outbox?.on('retrying', (sink, id, err, attempt, delayMs) =>
      log.warn({ sink, entry: id, attempt, delayMs, err: err.message }, 'case record delivery failed; will retry'),
    );
    outbox?.on('delivered', (sink, id, attempts) => log.info({ sink, entry: id, attempts }, 'case record delivered'));
    const service = new CaseRecordService(config, archive, outbox, log);
    await service.#recover();
    return service;
  }

  /** Entries still waiting for a remote system (for metrics and readiness). */
  get pending(): number {
    return this.#outbox?.pendingCount() ?? 0;
  }

  /** When the longest-waiting entry was queued (epoch ms); undefined when nothing waits (for metrics). */
  oldestPendingSince(): number | undefined {
    return this.#outbox?.oldestPendingSince();
  }

  /** Rooms being recorded now (for metrics). */
  get recordingsActive(): number {
    let active = 0;
    for (const record of this.#rooms.values()) if (record.session) active++;
    return active;
  }

  /** Recording failures since start, by stage (every stage listed, zeros included, for stable metrics). */
  get recordingFailures(): ReadonlyMap<RecordingFailureStage, number> {
    const stages: RecordingFailureStage[] = ['start', 'track', 'hand_off'];
    return new Map(stages.map((stage) => [stage, this.#recordingFailures.get(stage) ?? 0]));
  }

  /** The durable outbox of the remote sinks (undefined when the archive is the only sink). */
  get outbox(): Outbox | undefined {
    return this.#outbox;
  }

  /** Entries handed over since this process started, newest first (the last RECENT_ENTRIES). */
  recent(): readonly HandedOffEntry[] {
    return [...this.#recent].reverse();
  }

  /** Why the case record cannot be kept as it should right now, one sentence each (for `/readyz`). */
  problems(): string[] {
    const problems = this.storage.problems();
    const failing = [...this.#rooms.keys()].filter((room) => this.#rooms.get(room)?.trailFailing);
    if (failing.length) {
      problems.push(
        `${failing.length} room(s) cannot write their audit trail and admit no one: ${failing
          .slice(0, 5)
          .map((r) => r.id)
          .join(', ')}${failing.length > 5 ? ', …' : ''}`,
      );
    }
    return problems;
  }

  /** Rooms whose record is not yet handed over, and recordings still being hashed and archived (shutdown progress). */
  finishing(): { rooms: number; recordings: number } {
    let recordings = 0;
    for (const record of this.#rooms.values()) recordings += record.recordingsFinishing + (record.session ? 1 : 0);
    return { rooms: this.#rooms.size, recordings };
  }

  /** Opens the case record of a room being created (the room's CaseRecordOpener). */
  open(room: Room): RoomRecord {
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const file = path.join(this.#config.auditDir, safeSegment(room.id), `${stamp}-${randomBytes(4).toString('hex')}.jsonl`);
    const record = new RoomRecord(room, file, {
      auditEntryId: auditEntryId(file),
      recordingsDir: this.#config.recordingsDir,
      retention: this.#config.retention,
      handOff: (entry, dir) => this.#handOff(entry, dir, file),
      autoRecord: this.#config.autoRecordKinds.includes(room.kind),
      auditSeal: this.#auditSeal,
      storage: this.storage,
      recordingFailed: (stage) => this.#recordingFailures.set(stage, (this.#recordingFailures.get(stage) ?? 0) + 1),
      log: this.#log,
    });
    this.#rooms.set(room, record);
    room.once('closed', () => {
      record
        .finish()
        .catch((err: unknown) => {
          this.#log.error(
            { err, room: room.id },
            'the room record could not be finished; it is tried again every minute and at next start',
          );
          this.#leaveForLater(file);
        })
        .finally(() => this.#rooms.delete(room));
    });
    return record;
  }

  /**
   * Tries again to hand over the trails of closed rooms that could not be handed over (the disk has
   * perhaps been freed); runs every LEFT_RETRY_MS while any is left. Resolves with how many are still left.
   */
  retryLeft(): Promise<number> {
    this.#retrying ??= (async () => {
      for (const file of [...this.#leftTrails]) {
        try {
          await this.#handOffLeftTrail(file, 'hand_off');
          this.#leftTrails.delete(file);
        } catch (err) {
          this.#log.warn({ err, file }, 'a room trail still cannot be handed over; tried again later');
        }
      }
      if (this.#leftTrails.size === 0) this.#stopRetrying();
      return this.#leftTrails.size;
    })().finally(() => {
      this.#retrying = undefined;
    });
    return this.#retrying;
  }

  #leaveForLater(file: string): void {
    this.#leftTrails.add(file);
    this.#retryTimer ??= setInterval(() => void this.retryLeft(), LEFT_RETRY_MS);
    this.#retryTimer.unref();
  }

  #stopRetrying(): void {
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** The record of an open room (for tests and operations; rooms reach theirs as `room.caseRecord`). */
  recordOf(room: Room): RoomRecord | undefined {
    return this.#rooms.get(room);
  }

  /**
   * Graceful shutdown: finish every recording and trail, then stop delivering (pending stays on disk).
   * One room whose record cannot be finished (a full disk) holds up none of the others.
   */
  async close(): Promise<void> {
    const finished = await Promise.allSettled([...this.#rooms.values()].map((r) => r.finish()));
    const failed = finished.filter((f) => f.status === 'rejected').length;
    if (failed) this.#log.error({ rooms: failed }, 'room records could not be finished at shutdown; the next start hands them over');
    this.#stopRetrying(); // what is left is handed over by the next start's recovery
    await this.#outbox?.whenIdle(3000);
    await this.#outbox?.close();
  }

  /**
   * Archives and queues an entry, then marks it handed off. Throws if any of it cannot be written,
   * reported as a fault of `faultKind` (null: the caller reports it).
   */
  async #handOff(
    entry: CaseRecordEntry,
    sessionDir: string | undefined,
    trailFile?: string,
    faultKind: StorageFaultKind | null = 'hand_off',
  ): Promise<void> {
    try {
      await this.archive.deliver(entry);
      this.#outbox?.enqueue(entry);
      if (sessionDir) markHandedOff(sessionDir);
      // A trail handed over as the room's own entry is done; one in a recording entry is not yet.
      if (trailFile && !entry.manifest) writeFileSync(`${trailFile}${DELIVERED}`, new Date().toISOString());
    } catch (error) {
      if (faultKind) this.storage.fault(faultKind, error);
      throw error;
    }
    this.storage.ok();
    this.#remember(entry);
    this.#log.info({ entry: entry.id, caseId: entry.caseId, files: entry.files.length }, 'case record handed off');
  }

  #remember(entry: CaseRecordEntry): void {
    const { id, caseId, roomId, roomKind, createdAt } = entry;
    const files = entry.files.length;
    this.#recent.push({
      id,
      caseId,
      roomId,
      roomKind,
      createdAt,
      handedOffAt: new Date().toISOString(),
      recording: !!entry.manifest,
      files,
    });
    if (this.#recent.length > RECENT_ENTRIES) this.#recent.shift();
  }

  /**
   * Hands over what an earlier process left. Each item on its own: one that fails (a full disk, a
   * damaged file) is logged and stays where it is for the next start, and start-up goes on.
   */
  async #recover(): Promise<void> {
    let left = 0;
    const attempt = async (what: Record<string, unknown>, hand: () => Promise<void>): Promise<void> => {
      try {
        await hand();
      } catch (err) {
        left++;
        this.storage.fault('recovery', err);
        this.#log.error({ err, ...what }, 'could not hand over what an earlier process left; it stays for the next start');
      }
    };
    let recordings: Awaited<ReturnType<typeof recoverRecordings>> = [];
    try {
      recordings = await recoverRecordings({ recordingsDir: this.#config.recordingsDir, log: this.#log });
    } catch (err) {
      this.storage.fault('recovery', err);
      this.#log.error({ err }, 'recordings left by an earlier process could not be scanned; they stay for the next start');
    }
    for (const p of recordings) {
      await attempt({ entry: p.entry.id, sessionDir: p.sessionDir }, async () => {
        this.#log.warn({ entry: p.entry.id, interrupted: p.interrupted }, 'handing off a recording left by an earlier process');
        const trail = p.entry.manifest?.auditFile ? this.#sealLeftTrail(p.entry.manifest.auditFile) : undefined;
        await this.#handOff(trail ? { ...p.entry, trail } : p.entry, p.sessionDir, undefined, null);
      });
    }
    let trails: string[] = [];
    try {
      trails = undeliveredTrails(this.#config.auditDir);
    } catch (err) {
      this.storage.fault('recovery', err);
      this.#log.error({ err }, 'audit trails left by an earlier process could not be listed; they stay for the next start');
    }
    for (const file of trails) await attempt({ file }, () => this.#handOffLeftTrail(file));
    if (left) this.#log.error({ left }, 'start-up recovery left items for the next start');
  }

  async #handOffLeftTrail(file: string, faultKind: StorageFaultKind | null = null): Promise<void> {
    const events = AuditTrail.read(file);
    const opened = events.find((e) => e.type === 'room_opened')?.data ?? {};
    const id = auditEntryId(file);
    const roomKind = (opened['kind'] as Room['kind'] | undefined) ?? 'consultation';
    this.#log.warn({ entry: id }, 'handing off an audit trail left undelivered (by an earlier process, or a failed hand-off)');
    await this.#handOff(
      auditEntry({
        id,
        roomId: String(opened['roomId'] ?? path.basename(path.dirname(file))),
        roomKind,
        caseId: (opened['caseId'] as string | null | undefined) ?? null,
        auditTrail: events,
        trail: this.#sealLeftTrail(file),
      }),
      undefined,
      file,
      faultKind,
    );
  }

  /**
   * Seals a trail a dead process left open, so its archived copy verifies (a trail already sealed at
   * its end is not sealed again). If it cannot be sealed, it goes as it is: the verifier will say "not sealed".
   */
  #sealLeftTrail(file: string): TrailRef | undefined {
    try {
      const trail = AuditTrail.open(file, { seal: this.#auditSeal, log: this.#log });
      try {
        return trail.seal();
      } finally {
        trail.close();
      }
    } catch (err) {
      this.#log.error({ err, file }, 'a recovered audit trail could not be sealed; handing it over unsealed');
      return AuditTrail.headOf(file) ?? undefined;
    }
  }
}

/** Development without AUDIT_SEAL_KEY: trails are sealed, but with a key no one will have after this process. */
function ephemeralSealKey(log: Logger): AuditSealKey {
  const key = randomBytes(32).toString('hex');
  log.warn('development mode: audit trails are sealed with an ephemeral random key (set AUDIT_SEAL_KEY to verify them later)');
  return { key, keyId: `ephemeral-${randomBytes(4).toString('hex')}` };
}

/** One entry per room trail file, the same id whether delivered at close or recovered after a crash. */
const auditEntryId = (trailFile: string) => `audit-${path.basename(trailFile, '.jsonl')}`;

function remoteSinks(config: RecordsConfig): CaseRecordSink[] {
  // Files are served per case (GET /recordings/<caseId>/...); entries without a case have no URL.
  const base = config.publicUrl;
  const fileUrl = base
    ? (entry: CaseRecordEntry, file: CaseRecordFile) =>
        entry.caseId
          ? `${base}/recordings/${[entry.caseId, entry.id, path.basename(file.name)].map(encodeURIComponent).join('/')}`
          : undefined
    : undefined;
  const sinks: CaseRecordSink[] = [];
  if (config.webhook) sinks.push(new WebhookSink({ ...config.webhook, ...(fileUrl ? { fileUrl } : {}) }));
  if (config.fhir) {
    const { baseUrl, mode, authorization } = config.fhir;
    // FHIR attachments need some URL: where there is no HTTP one, the file's place on this server.
    const fhirUrl = fileUrl
      ? { fileUrl: (entry: CaseRecordEntry, file: CaseRecordFile) => fileUrl(entry, file) ?? pathToFileURL(file.path).href }
      : {};
    sinks.push(new FhirSink({ baseUrl, mode, ...(authorization ? { headers: { authorization } } : {}), ...fhirUrl }));
  }
  return sinks;
}

function undeliveredTrails(auditDir: string): string[] {
  const out: string[] = [];
  const dirs = existsSync(auditDir) ? readdirSync(auditDir, { withFileTypes: true }).filter((d) => d.isDirectory()) : [];
  for (const d of dirs) {
    const dir = path.join(auditDir, d.name);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue; // an unreadable room folder holds up no other
    }
    for (const f of files) if (f.endsWith('.jsonl') && !existsSync(path.join(dir, `${f}${DELIVERED}`))) out.push(path.join(dir, f));
  }
  return out;
}
