/**
 * The session journal (`session.json` in the session folder): what a recording session has started,
 * rewritten atomically at each change (start, each track start and end, stop). If the process dies,
 * recovery reads it to find the files, the recorder processes left running and the people involved.
 * A zod schema checks it on read: a damaged journal is reported, never trusted blindly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MediaKind, MediaSource, Role, RoomKind, SiteLevel } from '../signaling/protocol/index.js';
import { writeJsonAtomicSync } from './fsutil.js';

export const JOURNAL_FILE = 'session.json';

const Actor = z.object({
  participantId: z.string(),
  identity: z.string(),
  name: z.string(),
  role: Role,
  siteId: z.string(),
  siteName: z.string(),
});

const Participant = Actor.extend({ siteLevel: SiteLevel.nullable() });

/** One recorder process of a track and its file (a track has several when its recorder was restarted). */
const JournalSegment = z.object({
  index: z.number().int().min(1),
  file: z.string(),
  sdpFile: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  startOffsetMs: z.number(),
  /** The FFmpeg process and where it listens, so recovery can end one left running by a dead server. */
  pid: z.number().nullable(),
  rtpPort: z.number().nullable(),
  ssrc: z.number().nullable(),
  state: z.enum(['recording', 'ended', 'failed']),
  error: z.string().optional(),
});
export type JournalSegment = z.infer<typeof JournalSegment>;

/**
 * A recorded track. `file`, `sdpFile`, `startedAt` and `startOffsetMs` are its first segment's;
 * `pid`, `rtpPort` and `ssrc` its current recorder's; `segments` (absent in journals written before
 * recorders were restarted: then the track is one segment) lists them all.
 */
const JournalTrack = JournalSegment.omit({ index: true }).extend({
  trackId: z.string(),
  producerId: z.string(),
  contentType: z.string(),
  mediaType: MediaKind,
  source: MediaSource,
  codec: z.string(),
  participantId: z.string(),
  identity: z.string(),
  segments: z.array(JournalSegment).optional(),
});
export type JournalTrack = z.infer<typeof JournalTrack>;

export const SessionJournal = z.object({
  journalVersion: z.literal(1),
  sessionId: z.string(),
  roomId: z.string(),
  roomKind: RoomKind,
  caseId: z.string().nullable(),
  startedBy: Actor.nullable(),
  /** The session this one continues after the room moved to another server. */
  continues: z.string().optional(),
  stoppedBy: Actor.nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  state: z.enum(['recording', 'stopping', 'stopped']),
  auditFile: z.string().nullable(),
  retention: z.object({ mediaYears: z.number(), recordYears: z.number() }),
  participants: z.array(Participant),
  tracks: z.array(JournalTrack),
});
export type SessionJournal = z.infer<typeof SessionJournal>;

export function writeJournal(sessionDir: string, journal: SessionJournal): void {
  writeJsonAtomicSync(path.join(sessionDir, JOURNAL_FILE), { ...journal, updatedAt: new Date().toISOString() });
}

export type JournalRead = { ok: true; journal: SessionJournal } | { ok: false; error: string };

export function readJournal(sessionDir: string): JournalRead {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path.join(sessionDir, JOURNAL_FILE), 'utf8'));
  } catch (error) {
    return { ok: false, error: `unreadable: ${(error as Error).message}` };
  }
  const parsed = SessionJournal.safeParse(raw);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, journal: parsed.data };
}

/** The segments of a journal track; a track from before segments existed is its own single segment. */
export function journalSegments(t: JournalTrack): JournalSegment[] {
  if (t.segments?.length) return t.segments;
  const { file, sdpFile, startedAt, endedAt, startOffsetMs, pid, rtpPort, ssrc, state, error } = t;
  return [{ index: 1, file, sdpFile, startedAt, endedAt, startOffsetMs, pid, rtpPort, ssrc, state, ...(error ? { error } : {}) }];
}
