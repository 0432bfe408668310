/**
 * Case-record entries for sink tests, without running a recording: two small files stand in for the
 * media (sinks move bytes and hashes, they never decode), described like a real manifest.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  auditEntry,
  recordingEntry,
  retentionFrom,
  type AuditEvent,
  type CaseRecordEntry,
  type ManifestTrack,
  type RecordingManifest,
} from '../../../recordings/index.js';
import { digestFile } from '../../../recordings/fsutil.js';
import { li, wang } from './people.js';

const audit = (n: number): AuditEvent[] => [
  { seq: 1, at: '2026-11-23T09:00:00.000Z', type: 'participant_joined', actor: wang },
  { seq: 2, at: '2026-11-23T09:00:05.000Z', type: 'participant_joined', actor: li },
  { seq: 3, at: '2026-11-23T09:01:00.000Z', type: 'recording_started', actor: wang, data: { n } },
];

export async function syntheticRecordingEntry(sessionDir: string, caseId: string | null = 'CASE-HEP-0042'): Promise<CaseRecordEntry> {
  const sessionId = randomUUID();
  const tracks: ManifestTrack[] = [];
  for (const [kind, ext, contentType, codec, source] of [
    ['video', '.webm', 'video/webm', 'video/VP8', 'camera'],
    ['audio', '.ogg', 'audio/ogg', 'audio/opus', 'microphone'],
  ] as const) {
    const file = `${source}-${li.identity}-${sessionId.slice(0, 8)}${ext}`;
    writeFileSync(path.join(sessionDir, file), randomBytes(4096 + Math.floor(Math.random() * 4096)));
    const d = await digestFile(path.join(sessionDir, file));
    tracks.push({
      trackId: randomUUID(),
      producerId: randomUUID(),
      file,
      contentType,
      mediaType: kind,
      source,
      codec,
      participantId: li.participantId,
      identity: li.identity,
      startedAt: '2026-11-23T09:01:00.120Z',
      endedAt: '2026-11-23T09:31:00.000Z',
      startOffsetMs: 120,
      durationSeconds: 1799.88,
      sizeBytes: d.sizeBytes,
      sha256: d.sha256,
      sha1: d.sha1,
      status: 'complete',
    });
  }
  const manifest: RecordingManifest = {
    manifestVersion: 1,
    sessionId,
    roomId: 'hep-mdt-1',
    roomKind: 'consultation',
    caseId,
    startedBy: wang,
    stoppedBy: wang,
    startedAt: '2026-11-23T09:01:00.000Z',
    stoppedAt: '2026-11-23T09:31:00.500Z',
    status: 'complete',
    participants: [wang, li],
    tracks,
    retention: retentionFrom(new Date('2026-11-23T09:31:00.500Z')),
    auditFile: null,
  };
  return recordingEntry(manifest, sessionDir, audit(1));
}

export function syntheticAuditEntry(n: number): CaseRecordEntry {
  return auditEntry({
    id: `audit-room-${n}-${randomUUID().slice(0, 8)}`,
    roomId: `room-${n}`,
    roomKind: 'consultation',
    caseId: `CASE-${n}`,
    auditTrail: audit(n),
  });
}
