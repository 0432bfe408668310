/**
 * RecordingSession against a real mediasoup worker and real FFmpeg processes: a test pattern and a
 * tone are produced into a router, recorded track by track, and the files checked with ffprobe and
 * a full decode.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/codecs.js';
import {
  AuditTrail,
  FilesystemSink,
  recordingEntry,
  RecordingSession,
  type ManifestTrack,
  type RecordingError,
} from '../../recordings/index.js';
import { readJournal } from '../../recordings/journal.js';
import { decodeErrors, nextEvent, probeStream, removeTempDirs, sha256OfFile, sleep, tempDir, testLog } from './helpers/files.js';
import { startMediaSource, type MediaSource } from './helpers/media.js';
import { li, wang } from './helpers/people.js';
import { until } from '../helpers/until.js';

let worker: types.Worker;
let router: types.Router;
const sources: MediaSource[] = [];

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
});

afterAll(() => {
  for (const s of sources) s.stop();
  worker?.close();
  removeTempDirs();
});

async function source(want: { video?: boolean; audio?: boolean }): Promise<MediaSource> {
  const s = await startMediaSource(router, want);
  sources.push(s);
  return s;
}

function startSession(audit?: AuditTrail, restartLimit?: { max: number; windowMs: number }): RecordingSession {
  return RecordingSession.start({
    router,
    recordingsDir: tempDir(),
    roomId: 'hep-mdt-1',
    roomKind: 'consultation',
    caseId: 'CASE-HEP-0042',
    startedBy: wang,
    participants: [wang],
    log: testLog,
    ...(audit ? { audit } : {}),
    ...(restartLimit ? { restartLimit } : {}),
  });
}

describe('RecordingSession', () => {
  it('records each track to its own file, decodable, with duration and SHA-256 in the manifest', async () => {
    const src = await source({ video: true, audio: true });
    const audit = AuditTrail.open(path.join(tempDir(), 'audit.jsonl'));
    const session = startSession(audit);
    const started = Date.now();
    const [v, a] = await Promise.all([
      session.addTrack({ producer: src.video!, source: 'camera', owner: li }),
      session.addTrack({ producer: src.audio!, source: 'microphone', owner: li }),
    ]);
    expect(readJournal(session.dir)).toMatchObject({ ok: true, journal: { state: 'recording', tracks: [{}, {}] } });
    // The recorder listens on loopback only: its port is bound to 127.0.0.1, never 0.0.0.0.
    const port = Number(/m=video (\d+)/.exec(readFileSync(path.join(session.dir, v.sdpFile), 'utf8'))?.[1]);
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const udp = readFileSync('/proc/net/udp', 'utf8');
    expect(udp).toContain(`0100007F:${hex}`);
    expect(udp).not.toContain(`00000000:${hex}`);

    await sleep(3000);
    // Taken before stopping: closing the files (slow on a loaded machine) is not recorded time.
    const recordedSeconds = (Date.now() - started) / 1000;
    const manifest = await session.stop(wang);

    expect(manifest).toMatchObject({ status: 'complete', roomId: 'hep-mdt-1', caseId: 'CASE-HEP-0042', startedBy: wang, stoppedBy: wang });
    expect(manifest.participants.map((p) => p.identity).sort()).toEqual([li.identity, wang.identity].sort());
    expect(manifest.tracks).toHaveLength(2);
    const byType = (t: string): ManifestTrack => manifest.tracks.find((x) => x.mediaType === t)!;
    expect(byType('video')).toMatchObject({
      trackId: v.trackId,
      codec: 'video/VP8',
      source: 'camera',
      identity: li.identity,
      status: 'complete',
      contentType: 'video/webm',
    });
    expect(byType('audio')).toMatchObject({
      trackId: a.trackId,
      codec: 'audio/opus',
      source: 'microphone',
      status: 'complete',
      contentType: 'audio/ogg',
    });
    expect(byType('video').file).toMatch(/\.webm$/);
    expect(byType('audio').file).toMatch(/\.ogg$/);
    for (const t of manifest.tracks) {
      const file = path.join(session.dir, t.file);
      expect(t.durationSeconds).not.toBeNull();
      expect(Math.abs(t.durationSeconds! - recordedSeconds)).toBeLessThan(1);
      expect(t.startOffsetMs).toBeGreaterThanOrEqual(0);
      expect(t.startOffsetMs).toBeLessThan(3000);
      expect(sha256OfFile(file)).toBe(t.sha256);
      expect(t.sizeBytes).toBeGreaterThan(1000);
      expect(await decodeErrors(file)).toBe('');
    }
    expect(await probeStream(path.join(session.dir, byType('video').file))).toMatchObject({ codec_name: 'vp8', width: 320, height: 240 });
    expect(await probeStream(path.join(session.dir, byType('audio').file))).toMatchObject({ codec_name: 'opus' });
    // Retention: +3 years for media, +15 for the record; and the manifest on disk is the one returned.
    expect(new Date(manifest.retention.retainMediaUntil).getUTCFullYear()).toBe(new Date(manifest.stoppedAt).getUTCFullYear() + 3);
    expect(new Date(manifest.retention.retainRecordUntil).getUTCFullYear()).toBe(new Date(manifest.stoppedAt).getUTCFullYear() + 15);
    expect(JSON.parse(readFileSync(path.join(session.dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
    expect(readJournal(session.dir)).toMatchObject({ ok: true, journal: { state: 'stopped' } });
    const types = audit.events().map((e) => e.type);
    expect(types[0]).toBe('recording_started');
    expect(types).toContain('recording_stopped');
    expect(types.filter((t) => t === 'recording_track_ended')).toHaveLength(2);
    expect(await session.stop()).toBe(manifest); // idempotent

    // The case-record entry of this recording, filed by the default sink (media hard-linked, verified).
    const entry = recordingEntry(manifest, session.dir, audit.events());
    expect(entry).toMatchObject({ id: `rec-${session.id}`, caseId: 'CASE-HEP-0042', roomKind: 'consultation' });
    expect(entry.files.map((f) => f.sha256).sort()).toEqual(manifest.tracks.map((t) => t.sha256).sort());
    const sink = new FilesystemSink({ root: tempDir() });
    await sink.deliver(entry);
    for (const f of entry.files) expect(sha256OfFile(path.join(sink.folderFor(entry), f.name))).toBe(f.sha256);
    audit.close();
  });

  it('a producer that closes mid-recording ends its own file; the others go on', async () => {
    const keep = await source({ audio: true });
    const leaving = await source({ audio: true });
    const session = startSession();
    await session.addTrack({ producer: keep.audio!, source: 'microphone', owner: wang });
    await sleep(500);
    const t = await session.addTrack({ producer: leaving.audio!, source: 'microphone', owner: li });
    expect(t.startOffsetMs).toBeGreaterThanOrEqual(400);
    await sleep(1500);
    const ended = nextEvent<[ManifestTrack]>((l) => session.once('trackEnded', l), 5000, 'trackEnded');
    leaving.audio!.close();
    const [track] = await ended;
    expect(track).toMatchObject({ trackId: t.trackId, status: 'complete' });
    expect(track.durationSeconds).toBeGreaterThan(1);
    expect(track.durationSeconds).toBeLessThan(2.5);
    expect(session.state).toBe('recording');
    await sleep(500);
    const manifest = await session.stop();
    expect(manifest.tracks.map((x) => x.status)).toEqual(['complete', 'complete']);
    expect(manifest.tracks[0]!.durationSeconds).toBeGreaterThan(2);
  });

  it('a recorder that dies and may not be restarted is reported as an error with its track, and the process carries on', async () => {
    const src = await source({ video: true });
    // Restarts are test/recordings/continuity.test.ts's subject; here the recorder stays dead.
    const session = startSession(undefined, { max: 0, windowMs: 60_000 });
    const t = await session.addTrack({ producer: src.video!, source: 'screen', owner: li });
    // Killed once it has written some media (FFmpeg may start late on a loaded machine).
    await until(
      'the recorder to write media',
      () => (statSync(path.join(session.dir, t.file), { throwIfNoEntry: false })?.size ?? 0) > 20_000 || undefined,
      15_000,
    );
    await sleep(500);
    const failed = nextEvent<[RecordingError]>((l) => session.once('error', l), 10_000, 'error event');
    process.kill(t.pid!, 'SIGKILL');
    const [error] = await failed;
    expect(error.name).toBe('RecordingError');
    expect(error.track).toMatchObject({ trackId: t.trackId, status: 'failed', source: 'screen' });
    expect(error.track!.error).toMatch(/SIGKILL/);
    // What was captured before the crash is kept, and a repaired copy is readable.
    expect(error.track!.original?.file).toBe(t.file);
    expect(error.track!.file).toMatch(/\.repaired\.webm$/);
    expect(error.track!.durationSeconds).toBeGreaterThan(0.5);
    expect(await decodeErrors(path.join(session.dir, error.track!.file))).toBe('');
    const manifest = await session.stop();
    expect(manifest.status).toBe('complete');
    expect(manifest.tracks[0]).toMatchObject({ status: 'failed' });
  });
});
