/**
 * From closed recorders to a manifest track: size, hashes and duration of each of its files (one
 * per segment: a restarted recorder starts a new one), their statuses and the gaps between them.
 *
 * A file whose recorder died (killed, crashed, or its server gone) lacks the container's trailer:
 * index and duration are missing and the last page or cluster may be torn. Remuxing copies every
 * intact packet into a new, well-formed file; the original is kept untouched beside it, with its own
 * hash, as the evidence of what was actually captured.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { remux, type FfmpegPaths, type RecorderExit } from './ffmpeg.js';
import { toError } from './fsutil.js';
import { journalSegments, type JournalSegment, type JournalTrack } from './journal.js';
import { describeFile, type FileFacts, type ManifestGap, type ManifestSegment, type ManifestTrack, type TrackStatus } from './Manifest.js';

export interface RepairResult {
  /** The file to use from now on (relative): the repaired copy, or the original if repair failed. */
  file: string;
  facts: FileFacts;
  original: { file: string; sizeBytes: number; sha256: string } | undefined;
  repaired: boolean;
  error?: string;
}

export async function repairPartialFile(sessionDir: string, file: string, ffmpegPath: string, ffprobePath: string): Promise<RepairResult> {
  const originalFacts = await describeFile(path.join(sessionDir, file), ffprobePath);
  if (originalFacts.sizeBytes === 0 || !originalFacts.sha256) {
    return { file, facts: originalFacts, original: undefined, repaired: false, error: 'no media reached the file' };
  }
  const original = { file, sizeBytes: originalFacts.sizeBytes, sha256: originalFacts.sha256 };
  const ext = path.extname(file);
  const repairedName = `${file.slice(0, file.length - ext.length)}.repaired${ext}`;
  const repairedPath = path.join(sessionDir, repairedName);
  rmSync(repairedPath, { force: true }); // a repair cut short by another crash: redo it from the original
  const result = await remux(path.join(sessionDir, file), repairedPath, ffmpegPath);
  const facts = result.ok ? await describeFile(repairedPath, ffprobePath) : undefined;
  if (!facts || facts.sizeBytes === 0 || facts.durationSeconds === null) {
    rmSync(repairedPath, { force: true });
    return { file, facts: originalFacts, original, repaired: false, error: `repair failed: ${result.error || 'unreadable output'}` };
  }
  return { file: repairedName, facts, original, repaired: true };
}

/** The journal fields that carry over into the manifest (process details stay behind). */
export function trackBase(t: JournalTrack): Omit<ManifestTrack, keyof FileFacts | 'status'> {
  const { pid: _pid, rtpPort: _port, ssrc: _ssrc, state: _state, sdpFile: _sdp, error: _error, segments: _segments, ...base } = t;
  return base;
}

export function describeExit(exit: RecorderExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  return exit.stderrTail ? `${how}: ${exit.stderrTail.split('\n').slice(-2).join(' ')}` : how;
}

/** Where a segment sits in the session's timeline (ms from the session start). */
export function segmentOffsets(seg: JournalSegment): { startOffsetMs: number; endOffsetMs: number | null } {
  const sessionStart = Date.parse(seg.startedAt) - seg.startOffsetMs;
  const end = seg.endedAt ? Date.parse(seg.endedAt) - sessionStart : null;
  return { startOffsetMs: seg.startOffsetMs, endOffsetMs: end !== null && Number.isFinite(end) ? end : null };
}

/** The manifest entry of one segment whose recorder has exited (`exit` undefined: unknown how). */
export async function finalizeSegment(
  sessionDir: string,
  seg: JournalSegment,
  exit: RecorderExit | undefined,
  ffmpeg: FfmpegPaths,
): Promise<ManifestSegment> {
  const base = { index: seg.index, startedAt: seg.startedAt, endedAt: seg.endedAt, ...segmentOffsets(seg) };
  try {
    if (!exit || !exit.requested) {
      // The recorder died: keep its file and add a repaired copy.
      const repair = await repairPartialFile(sessionDir, seg.file, ffmpeg.ffmpeg, ffmpeg.ffprobe);
      const error = [seg.error ?? 'the recorder stopped unexpectedly', repair.error].filter(Boolean).join('; ');
      return {
        ...base,
        file: repair.file,
        ...repair.facts,
        status: 'failed',
        error,
        ...(repair.repaired && repair.original ? { original: repair.original } : {}),
      };
    }
    const facts = await describeFile(path.join(sessionDir, seg.file), ffmpeg.ffprobe);
    // BYE or 'q' exit 0, SIGINT 255: all end the file properly. Anything else, or a file ffprobe
    // cannot read after an unclean exit, is a failure; a file that never received media is "empty".
    // (A clean exit with only a container header, e.g. a microphone muted throughout, is empty too.)
    const cleanExit = exit.code === 0 || exit.code === 255 || exit.signal === 'SIGINT';
    let status: ManifestSegment['status'] = 'complete';
    if (facts.sizeBytes === 0 || (cleanExit && facts.durationSeconds === null)) status = 'empty';
    else if (facts.durationSeconds === null || !cleanExit) status = 'failed';
    return { ...base, file: seg.file, ...facts, status, ...(status === 'complete' ? {} : { error: describeExit(exit) }) };
  } catch (err) {
    return {
      ...base,
      file: seg.file,
      sizeBytes: 0,
      sha256: null,
      sha1: null,
      durationSeconds: null,
      status: 'failed',
      error: `could not read the file: ${toError(err).message}`,
    };
  }
}

/**
 * A track from its described segments: the top-level file facts are the first segment's (as they
 * were before tracks had segments), `segments` lists every file and `gaps` what lies between them.
 * One segment: its status. Several: 'resumed', unless the last one failed too (the recorder could
 * not be kept alive) or could not be repaired.
 */
export function assembleTrack(t: JournalTrack, segments: ManifestSegment[]): ManifestTrack {
  const first = segments[0];
  const last = segments.at(-1);
  if (!first || !last) throw new Error(`track ${t.trackId} has no segment`);
  const gaps: ManifestGap[] = [];
  for (let i = 1; i < segments.length; i++) {
    const before = segments[i - 1]!;
    const after = segments[i]!;
    const fromOffsetMs = before.endOffsetMs ?? before.startOffsetMs;
    gaps.push({
      afterSegment: before.index,
      fromOffsetMs,
      toOffsetMs: after.startOffsetMs,
      durationMs: Math.max(0, after.startOffsetMs - fromOffsetMs),
      cause: before.error ?? 'the recorder stopped',
    });
  }
  const status: TrackStatus =
    segments.length === 1 ? first.status : last.status === 'failed' || last.status === 'unrecoverable' ? last.status : 'resumed';
  const errors = segments.filter((s) => s.error).map((s) => (segments.length === 1 ? s.error : `segment ${s.index}: ${s.error}`));
  return {
    ...trackBase(t),
    file: first.file,
    endedAt: last.endedAt ?? t.endedAt,
    durationSeconds: first.durationSeconds,
    sizeBytes: first.sizeBytes,
    sha256: first.sha256,
    sha1: first.sha1,
    status,
    ...(errors.length ? { error: errors.join('; ') } : {}),
    ...(first.original ? { original: first.original } : {}),
    segments,
    gaps,
  };
}

/** The manifest entry of a track whose recorders have all exited, none of them known how (repaired). */
export async function finalizeTrack(sessionDir: string, t: JournalTrack, ffmpeg: FfmpegPaths): Promise<ManifestTrack> {
  const segments: ManifestSegment[] = [];
  for (const seg of journalSegments(t)) segments.push(await finalizeSegment(sessionDir, seg, undefined, ffmpeg));
  return assembleTrack(t, segments);
}
