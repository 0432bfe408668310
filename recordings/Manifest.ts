/**
 * The manifest of one recording session: who was there, which file holds which person's camera,
 * microphone or screen, when each started and ended, and a SHA-256 of every file so integrity can be
 * shown years later. Written once, atomically, when the session stops (or by recovery after a crash).
 * Nothing here deletes anything: retention dates tell the archive how long it must keep the files.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MediaKind, MediaSource, RoomKind, SiteLevel } from '../signaling/protocol/index.js';
import type { AuditActor } from './AuditTrail.js';
import { probeDuration } from './ffmpeg.js';
import { digestFile, fileExists, writeJsonAtomicSync } from './fsutil.js';
import { readTrailHead, type TrailHead } from './trailChain.js';

export const MANIFEST_FILE = 'manifest.json';

/** A person present during the recording, as the token named them. */
export interface ManifestParticipant extends AuditActor {
  siteLevel: SiteLevel | null;
}

/**
 * complete: ended cleanly · failed: the recorder died (the file holds what was written until then) ·
 * empty: no media arrived (e.g. the track stayed paused) · recovered: cut short by a crash and
 * repaired into a new file · unrecoverable: cut short and could not be repaired (original kept) ·
 * resumed (a track only): its recorder died and was restarted, so the track is several segments
 * with gaps between them (`segments`, `gaps`); the last one did not fail.
 */
export type TrackStatus = 'complete' | 'failed' | 'empty' | 'recovered' | 'unrecoverable' | 'resumed';

/**
 * One file of a track: one recorder process from its start to its end. A track has one segment
 * unless its recorder died and was restarted; each restart starts a new file (the old one is kept,
 * repaired if it was cut short) from a fresh key frame.
 */
export interface ManifestSegment {
  /** 1, 2, 3… in recording order. */
  index: number;
  /** Relative to the session folder. */
  file: string;
  startedAt: string;
  endedAt: string | null;
  /** Milliseconds from the session start to this segment's start (its consumer resumed) and end (its recorder exited). */
  startOffsetMs: number;
  endOffsetMs: number | null;
  durationSeconds: number | null;
  sizeBytes: number;
  sha256: string | null;
  sha1: string | null;
  status: Exclude<TrackStatus, 'resumed'>;
  error?: string;
  original?: { file: string; sizeBytes: number; sha256: string };
}

/** Wall-clock time between two segments when nothing of the track was recorded. */
export interface ManifestGap {
  /** The segment before the gap (its index); the one after is `afterSegment + 1`. */
  afterSegment: number;
  fromOffsetMs: number;
  toOffsetMs: number;
  durationMs: number;
  /** Why the segment before it ended, e.g. "killed by SIGKILL". */
  cause: string;
}

/**
 * One producer's recording. `file`, `sizeBytes`, `sha256`, `sha1`, `durationSeconds` and `original`
 * describe its first segment (as before tracks had segments); `segments` lists every file of the
 * track, the first included, and `gaps` what is missing between them.
 */
export interface ManifestTrack {
  trackId: string;
  producerId: string;
  /** Relative to the session folder. */
  file: string;
  contentType: string;
  mediaType: MediaKind;
  source: MediaSource;
  /** RTP codec MIME type, e.g. video/VP8, audio/opus. */
  codec: string;
  participantId: string;
  identity: string;
  startedAt: string;
  /** Wall clock; for a crashed track, the last time its file was written. */
  endedAt: string | null;
  /** Milliseconds from the session start to this track's first packet. */
  startOffsetMs: number;
  /** As ffprobe reads the container; null when it cannot tell. */
  durationSeconds: number | null;
  sizeBytes: number;
  sha256: string | null;
  /** Hex SHA-1, only for FHIR `Attachment.hash` (R4 defines that field as SHA-1). */
  sha1: string | null;
  status: TrackStatus;
  error?: string;
  /** After a crash: the file exactly as the recorder left it, kept beside the repaired copy. */
  original?: { file: string; sizeBytes: number; sha256: string };
  /** Every file of this track in order; absent in manifests written before recorders were restarted. */
  segments?: ManifestSegment[];
  /** The gaps between segments (none for a track recorded in one piece). */
  gaps?: ManifestGap[];
}

export interface RetentionPolicy {
  /** Audio/video must be kept at least this long (regulation: 3 years). */
  mediaYears: number;
  /** The case record must be kept at least this long (regulation: 15 years). */
  recordYears: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { mediaYears: 3, recordYears: 15 };

export interface Retention {
  retainMediaUntil: string;
  retainRecordUntil: string;
  /** Stated so no reader mistakes the dates for a deletion schedule. */
  deletion: 'manual-only';
}

export interface RecordingManifest {
  manifestVersion: 1;
  sessionId: string;
  roomId: string;
  roomKind: RoomKind;
  caseId: string | null;
  startedBy: AuditActor | null;
  /**
   * The recording this one continues: the room moved to another server mid-recording (its server died
   * or was drained) and recording went on there as a new part. Follow the links for the whole session.
   */
  continues?: string;
  stoppedBy: AuditActor | null;
  startedAt: string;
  stoppedAt: string;
  /**
   * complete: stopped on purpose (by a person, the room closing or the server shutting down) ·
   * interrupted: cut short by a failure (the media worker under the room died, or the server process
   * died and recovery finished the files); `interruption` says why.
   */
  status: 'complete' | 'interrupted';
  interruption?: { at: string; reason: string };
  participants: ManifestParticipant[];
  tracks: ManifestTrack[];
  retention: Retention;
  /** The room's audit trail file (absolute), whose events go into the case record with this manifest. */
  auditFile: string | null;
  /**
   * The trail's head when the manifest was written (its final hash so far, line and byte counts): the
   * recording's events are lines 1…`lines` of any later copy of the trail, which must hash to `hash`.
   * Filled in by `writeManifest`; absent in manifests written before trails were chained.
   */
  auditTrail?: TrailHead | null;
}

/** Retention dates counted from the end of the recording, in whole calendar years (UTC). */
export function retentionFrom(end: Date, policy: RetentionPolicy = DEFAULT_RETENTION): Retention {
  const plusYears = (years: number): string => {
    const d = new Date(end.getTime());
    d.setUTCFullYear(d.getUTCFullYear() + years);
    return d.toISOString();
  };
  return { retainMediaUntil: plusYears(policy.mediaYears), retainRecordUntil: plusYears(policy.recordYears), deletion: 'manual-only' };
}

export interface FileFacts {
  sizeBytes: number;
  sha256: string | null;
  sha1: string | null;
  durationSeconds: number | null;
}

/** Size, hashes and duration of a recorded file; a missing file yields zeros and nulls, not an error. */
export async function describeFile(file: string, ffprobePath?: string): Promise<FileFacts> {
  if (!(await fileExists(file))) return { sizeBytes: 0, sha256: null, sha1: null, durationSeconds: null };
  const digest = await digestFile(file);
  const durationSeconds = digest.sizeBytes > 0 ? await probeDuration(file, ffprobePath) : null;
  return { ...digest, durationSeconds };
}

/**
 * Writes the manifest once, atomically. Every manifest is written here (at stop, by recovery), so
 * this is where it notes how far the room's trail had got. The note goes on the caller's object too,
 * so the manifest that goes on to the case record is the one on disk.
 */
export function writeManifest(sessionDir: string, manifest: RecordingManifest): void {
  if (manifest.auditTrail === undefined) manifest.auditTrail = trailHeadFor(manifest.auditFile);
  writeJsonAtomicSync(path.join(sessionDir, MANIFEST_FILE), manifest);
}

function trailHeadFor(auditFile: string | null): TrailHead | null {
  if (!auditFile) return null;
  try {
    return readTrailHead(auditFile, path.basename(auditFile, '.jsonl'));
  } catch {
    return null; // an unreadable trail must not cost the recording its manifest; the verifier will say so
  }
}

/** The manifest of a session folder, or null if the session never finished (or the file is unreadable). */
export function readManifest(sessionDir: string): RecordingManifest | null {
  try {
    const value = JSON.parse(readFileSync(path.join(sessionDir, MANIFEST_FILE), 'utf8')) as RecordingManifest;
    return value.manifestVersion === 1 && typeof value.sessionId === 'string' ? value : null;
  } catch {
    return null;
  }
}
