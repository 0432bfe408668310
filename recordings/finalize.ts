/**
 * From a closed recorder to a manifest track: size, hashes and duration of its file, and its status.
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
import type { JournalTrack } from './journal.js';
import { describeFile, type FileFacts, type ManifestTrack, type TrackStatus } from './Manifest.js';

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
  const { pid: _pid, rtpPort: _port, ssrc: _ssrc, state: _state, sdpFile: _sdp, error: _error, ...base } = t;
  return base;
}

export function describeExit(exit: RecorderExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  return exit.stderrTail ? `${how}: ${exit.stderrTail.split('\n').slice(-2).join(' ')}` : how;
}

/** The manifest entry of a track whose recorder has exited (`exit` undefined: unknown how). */
export async function finalizeTrack(
  sessionDir: string,
  t: JournalTrack,
  exit: RecorderExit | undefined,
  ffmpeg: FfmpegPaths,
): Promise<ManifestTrack> {
  const base = trackBase(t);
  try {
    if (!exit || !exit.requested) {
      // The recorder died: keep its file and add a repaired copy.
      const repair = await repairPartialFile(sessionDir, t.file, ffmpeg.ffmpeg, ffmpeg.ffprobe);
      const error = [t.error ?? 'the recorder stopped unexpectedly', repair.error].filter(Boolean).join('; ');
      return {
        ...base,
        file: repair.file,
        ...repair.facts,
        status: 'failed',
        error,
        ...(repair.repaired && repair.original ? { original: repair.original } : {}),
      };
    }
    const facts = await describeFile(path.join(sessionDir, t.file), ffmpeg.ffprobe);
    // BYE or 'q' exit 0, SIGINT 255: all end the file properly. Anything else, or a file ffprobe
    // cannot read after an unclean exit, is a failure; a file that never received media is "empty".
    // (A clean exit with only a container header, e.g. a microphone muted throughout, is empty too.)
    const cleanExit = exit.code === 0 || exit.code === 255 || exit.signal === 'SIGINT';
    let status: TrackStatus = 'complete';
    if (facts.sizeBytes === 0 || (cleanExit && facts.durationSeconds === null)) status = 'empty';
    else if (facts.durationSeconds === null || !cleanExit) status = 'failed';
    return { ...base, ...facts, status, ...(status === 'complete' ? {} : { error: describeExit(exit) }) };
  } catch (err) {
    return {
      ...base,
      sizeBytes: 0,
      sha256: null,
      sha1: null,
      durationSeconds: null,
      status: 'failed',
      error: `could not read the file: ${toError(err).message}`,
    };
  }
}
