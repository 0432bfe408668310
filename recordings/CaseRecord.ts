/**
 * What the hospital's record system receives for a consultation: the case, the room, the recording
 * manifest, the room's audit timeline and the files. Every entry has a stable id, so each sink can
 * deliver it any number of times (after a crash, a retry, a restart) and the receiver keeps one copy.
 */
import path from 'node:path';
import type { RoomKind } from '../signaling/protocol/index.js';
import type { AuditEvent } from './AuditTrail.js';
import type { RecordingManifest } from './Manifest.js';
import type { TrailRef } from './trailChain.js';

export interface CaseRecordFile {
  /** Name inside the entry (the file's path relative to the session folder). */
  name: string;
  /** Where the file is on this server's disk now. */
  path: string;
  contentType: string;
  mediaType: 'audio' | 'video';
  trackId: string;
  /** Which file of the track (1, 2, … when its recorder was restarted); absent in older entries. */
  segment?: number;
  sizeBytes: number;
  sha256: string;
  sha1: string;
}

export interface CaseRecordEntry {
  /** Stable idempotency id: `rec-<session id>` for a recording, chosen by the caller otherwise. */
  id: string;
  caseId: string | null;
  roomId: string;
  roomKind: RoomKind;
  createdAt: string;
  /** Null for a room that was never recorded: its audit trail still goes to the case record. */
  manifest: RecordingManifest | null;
  auditTrail: AuditEvent[];
  files: CaseRecordFile[];
  /**
   * The room's trail file and where it stood (sealed) when handed over: the archive copies exactly
   * those bytes, the remote sinks send its final hash. Absent in entries made before trails were chained.
   */
  trail?: TrailRef;
}

/**
 * Somewhere case records go: a folder, a webhook, a FHIR server. `deliver` resolves only once the
 * receiver has the entry, rejects otherwise (the outbox then retries), and must be idempotent by
 * `entry.id`. `signal` aborts a delivery in flight when the outbox closes.
 */
export interface CaseRecordSink {
  readonly name: string;
  deliver(entry: CaseRecordEntry, signal?: AbortSignal): Promise<void>;
}

export function recordingEntryId(sessionId: string): string {
  return `rec-${sessionId}`;
}

/** The case-record entry of a finished (or recovered) recording session. */
export function recordingEntry(
  manifest: RecordingManifest,
  sessionDir: string,
  auditTrail: AuditEvent[],
  trail?: TrailRef,
): CaseRecordEntry {
  const files: CaseRecordFile[] = [];
  for (const t of manifest.tracks) {
    // Every file of the track: one per segment (a restarted recorder wrote several).
    for (const s of t.segments ?? [{ ...t, index: 1 }]) {
      // Files with no content (nothing arrived, or lost) are listed in the manifest but not shipped.
      if (!s.sha256 || !s.sha1 || s.sizeBytes === 0) continue;
      files.push({
        name: s.file,
        path: path.resolve(sessionDir, s.file),
        contentType: t.contentType,
        mediaType: t.mediaType,
        trackId: t.trackId,
        ...(t.segments ? { segment: s.index } : {}),
        sizeBytes: s.sizeBytes,
        sha256: s.sha256,
        sha1: s.sha1,
      });
    }
  }
  return {
    id: recordingEntryId(manifest.sessionId),
    caseId: manifest.caseId,
    roomId: manifest.roomId,
    roomKind: manifest.roomKind,
    createdAt: manifest.stoppedAt,
    manifest,
    auditTrail,
    files,
    ...(trail ? { trail } : {}),
  };
}

/** The entry for a room's audit timeline alone (e.g. when the room closes), without recordings. */
export function auditEntry(input: {
  id: string;
  roomId: string;
  roomKind: RoomKind;
  caseId: string | null;
  auditTrail: AuditEvent[];
  trail?: TrailRef;
}): CaseRecordEntry {
  return { ...input, createdAt: new Date().toISOString(), manifest: null, files: [] };
}
