/**
 * Startup recovery: a recording in progress when the process died must not be silently lost. For
 * each session folder whose journal has no manifest, recorders left running are ended (they still
 * hold the files open), each partial file is remuxed into a new well-formed file (the original is
 * kept untouched, with its own hash), and a manifest with status 'interrupted' is written. A track
 * whose recorder had been restarted is recovered segment by segment.
 *
 * Idempotent: a folder is done once it has a manifest and a hand-off marker. Sessions with a manifest
 * but no marker (the server died between finishing and delivering) are returned again, so every
 * entry reaches the case record; call `markHandedOff` once a sink or the outbox has it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RecordingsLogger } from './logger.js';
import { AuditTrail } from './AuditTrail.js';
import { recordingEntry, type CaseRecordEntry } from './CaseRecord.js';
import { DEFAULT_FFMPEG, sendRtcpBye, type FfmpegPaths } from './ffmpeg.js';
import { fileExists, writeJsonAtomicSync } from './fsutil.js';
import { JOURNAL_FILE, journalSegments, readJournal, type JournalSegment, type JournalTrack, type SessionJournal } from './journal.js';
import {
  describeFile,
  readManifest,
  retentionFrom,
  writeManifest,
  type ManifestSegment,
  type ManifestTrack,
  type RecordingManifest,
} from './Manifest.js';
import { assembleTrack, repairPartialFile, segmentOffsets } from './finalize.js';

export const HANDED_OFF_FILE = 'handed-off.json';

export interface RecoveryOptions {
  recordingsDir: string;
  log: RecordingsLogger;
  ffmpeg?: Partial<FfmpegPaths>;
}

export interface PendingCaseRecord {
  sessionDir: string;
  entry: CaseRecordEntry;
  /** True when this run (or an earlier one) rebuilt the manifest after a crash. */
  interrupted: boolean;
}

/** Scans `<recordingsDir>/<room>/<session>/` and returns every session not yet handed off. */
export async function recoverRecordings(options: RecoveryOptions): Promise<PendingCaseRecord[]> {
  const ffmpeg = { ...DEFAULT_FFMPEG, ...options.ffmpeg };
  const pending: PendingCaseRecord[] = [];
  for (const sessionDir of sessionDirs(options.recordingsDir)) {
    if (await fileExists(path.join(sessionDir, HANDED_OFF_FILE))) continue;
    const log = options.log.child({ sessionDir });
    try {
      let manifest = readManifest(sessionDir);
      if (!manifest) {
        const read = readJournal(sessionDir);
        if (!read.ok) {
          log.error({ error: read.error }, 'recording journal is damaged; this session needs manual review');
          continue;
        }
        manifest = await recoverSession(sessionDir, read.journal, ffmpeg, log);
      }
      const audit = manifest.auditFile ? AuditTrail.read(manifest.auditFile) : [];
      pending.push({ sessionDir, entry: recordingEntry(manifest, sessionDir, audit), interrupted: manifest.status === 'interrupted' });
    } catch (err) {
      // One bad folder must not stop the others from being recovered.
      log.error({ err }, 'recording recovery failed for this session');
    }
  }
  return pending;
}

/** Notes that the session's case-record entry is safely with a sink or the outbox. */
export function markHandedOff(sessionDir: string): void {
  writeJsonAtomicSync(path.join(sessionDir, HANDED_OFF_FILE), { at: new Date().toISOString() });
}

function sessionDirs(root: string): string[] {
  const dirs: string[] = [];
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => path.join(dir, d.name));
    } catch {
      return [];
    }
  };
  for (const room of list(root)) for (const session of list(room)) if (statSafe(path.join(session, JOURNAL_FILE))) dirs.push(session);
  return dirs.sort();
}

function statSafe(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

async function recoverSession(
  sessionDir: string,
  journal: SessionJournal,
  ffmpeg: FfmpegPaths,
  log: RecordingsLogger,
): Promise<RecordingManifest> {
  log.warn({ session: journal.sessionId, room: journal.roomId, tracks: journal.tracks.length }, 'recovering an interrupted recording');
  const tracks: ManifestTrack[] = [];
  for (const t of journal.tracks) tracks.push(await recoverTrack(sessionDir, t, ffmpeg, log));
  const lastWrite = Math.max(Date.parse(journal.updatedAt), ...tracks.map((t) => (t.endedAt ? Date.parse(t.endedAt) : 0)));
  const stoppedAt = new Date(Number.isFinite(lastWrite) ? lastWrite : Date.now());
  const manifest: RecordingManifest = {
    manifestVersion: 1,
    sessionId: journal.sessionId,
    roomId: journal.roomId,
    roomKind: journal.roomKind,
    caseId: journal.caseId,
    startedBy: journal.startedBy,
    ...(journal.continues ? { continues: journal.continues } : {}),
    stoppedBy: journal.stoppedBy,
    startedAt: journal.startedAt,
    stoppedAt: stoppedAt.toISOString(),
    status: 'interrupted',
    interruption: {
      at: stoppedAt.toISOString(),
      reason: 'the server process stopped during the recording; its files were finished at the next start',
    },
    participants: journal.participants,
    tracks,
    retention: retentionFrom(stoppedAt, journal.retention),
    auditFile: journal.auditFile,
  };
  noteInAudit(journal, tracks, log);
  writeManifest(sessionDir, manifest);
  return manifest;
}

/** Each segment of the track finished (a recorder left running is ended, a cut-short file repaired). */
async function recoverTrack(sessionDir: string, t: JournalTrack, ffmpeg: FfmpegPaths, log: RecordingsLogger): Promise<ManifestTrack> {
  const segments: ManifestSegment[] = [];
  for (const seg of journalSegments(t)) segments.push(await recoverSegment(sessionDir, t.trackId, seg, ffmpeg, log));
  return assembleTrack({ ...t, endedAt: t.endedAt ?? segments.at(-1)?.endedAt ?? null }, segments);
}

async function recoverSegment(
  sessionDir: string,
  trackId: string,
  seg: JournalSegment,
  ffmpeg: FfmpegPaths,
  log: RecordingsLogger,
): Promise<ManifestSegment> {
  const { state, error } = seg;
  if (state === 'recording' && seg.pid !== null) await endOrphanRecorder(trackId, seg, path.join(sessionDir, seg.sdpFile), log);
  const lastWrite = (): string | null => {
    try {
      return statSync(path.join(sessionDir, seg.file)).mtime.toISOString();
    } catch {
      return null;
    }
  };
  const endedAt = seg.endedAt ?? lastWrite();
  const base = { index: seg.index, startedAt: seg.startedAt, endedAt, ...segmentOffsets({ ...seg, endedAt }) };
  if (state === 'ended') {
    // Ended cleanly before the crash: the file is final as it is.
    const facts = await describeFile(path.join(sessionDir, seg.file), ffmpeg.ffprobe);
    return { ...base, file: seg.file, ...facts, status: facts.sizeBytes > 0 ? 'complete' : 'empty' };
  }
  // Cut short, by the crash ('recording') or earlier ('failed'): repair into a new file.
  const repair = await repairPartialFile(sessionDir, seg.file, ffmpeg.ffmpeg, ffmpeg.ffprobe);
  const status = repair.facts.sizeBytes === 0 ? 'empty' : state === 'failed' ? 'failed' : repair.repaired ? 'recovered' : 'unrecoverable';
  // The file name holds the participant's identity: named at debug only when all went well.
  if (repair.repaired) log.info({ segment: seg.index, durationSeconds: repair.facts.durationSeconds }, 'partial recording repaired');
  if (repair.repaired) log.debug({ file: repair.file }, 'partial recording repaired into this file');
  else log.error({ file: seg.file, error: repair.error }, 'partial recording could not be repaired; original kept');
  const reason = [error, repair.error].filter(Boolean).join('; ');
  return {
    ...base,
    file: repair.file,
    ...repair.facts,
    status,
    ...(reason ? { error: reason } : {}),
    ...(repair.original && repair.repaired ? { original: repair.original } : {}),
  };
}

/**
 * A recorder whose server died keeps running, holding its file open and waiting for packets that
 * will never come. If the pid is still that recorder (its command line names this segment's SDP), an
 * RTCP BYE on its port ends its input so it finishes the file properly; signals are the fallback.
 */
async function endOrphanRecorder(trackId: string, seg: JournalSegment, sdpFile: string, log: RecordingsLogger): Promise<void> {
  const pid = seg.pid;
  if (pid === null) return;
  const isOurs = (): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(sdpFile);
    } catch {
      return false; // gone, a zombie, or not Linux: nothing to end
    }
  };
  if (!isOurs()) return;
  log.warn({ pid, track: trackId, segment: seg.index }, 'ending a recorder left running by the previous server process');
  const steps: [() => void, number][] = [
    [() => seg.rtpPort !== null && sendRtcpBye(seg.rtpPort, seg.ssrc ?? 0), 3000],
    [() => process.kill(pid, 'SIGINT'), 2000],
    [() => process.kill(pid, 'SIGKILL'), 2000],
  ];
  for (const [act, waitMs] of steps) {
    try {
      act();
    } catch {
      return; // the process is already gone
    }
    for (const deadline = Date.now() + waitMs; Date.now() < deadline && isOurs();) await new Promise((r) => setTimeout(r, 50));
    if (!isOurs()) return;
  }
}

/** Records the interruption in the room's trail, once, even if recovery runs again. */
function noteInAudit(journal: SessionJournal, tracks: ManifestTrack[], log: RecordingsLogger): void {
  if (!journal.auditFile) return;
  try {
    const already = AuditTrail.read(journal.auditFile).some(
      (e) => e.type === 'recording_interrupted' && e.data?.['sessionId'] === journal.sessionId,
    );
    if (already) return;
    const trail = AuditTrail.open(journal.auditFile);
    try {
      trail.append('recording_interrupted', {
        data: { sessionId: journal.sessionId, tracks: tracks.map((t) => ({ trackId: t.trackId, status: t.status, file: t.file })) },
      });
    } finally {
      trail.close();
    }
  } catch (err) {
    log.error({ err }, 'could not note the interruption in the audit trail');
  }
}
