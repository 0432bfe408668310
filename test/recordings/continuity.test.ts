/**
 * Recording continuity under real faults: a recorder (FFmpeg) killed with SIGKILL mid-recording is
 * restarted as a new segment of the same track, within a bounded number of restarts; the media
 * worker under a recording killed with SIGKILL ends the recording as `interrupted`, with its reason.
 * Real mediasoup workers, real FFmpeg sources and recorders; files checked with a full decode.
 */
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/codecs.js';
import {
  AuditTrail,
  recordingEntry,
  recoverRecordings,
  RecordingSession,
  type RecordingError,
  type RecordingManifest,
  type RecordingSessionOptions,
  type TrackRestart,
} from '../../recordings/index.js';
import { readJournal } from '../../recordings/journal.js';
import { decodeErrors, nextEvent, removeTempDirs, sha256OfFile, sleep, tempDir, testLog } from './helpers/files.js';
import { startMediaSource, type MediaSource } from './helpers/media.js';
import { wangFang, zhaoLei } from './helpers/people.js';

const workers: types.Worker[] = [];
const sources: MediaSource[] = [];
const sessions: RecordingSession[] = [];

async function newRouter(): Promise<{ worker: types.Worker; router: types.Router }> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  workers.push(worker);
  return { worker, router: await worker.createRouter({ mediaCodecs: MEDIA_CODECS }) };
}

async function source(router: types.Router, want: { video?: boolean; audio?: boolean }): Promise<MediaSource> {
  const s = await startMediaSource(router, want);
  sources.push(s);
  return s;
}

function startSession(router: types.Router, extra: Partial<RecordingSessionOptions> = {}): RecordingSession {
  const session = RecordingSession.start({
    router,
    recordingsDir: tempDir(),
    roomId: 'mdt-zl-0517',
    roomKind: 'consultation',
    caseId: 'CASE-ZL-2291',
    startedBy: wangFang,
    participants: [wangFang, zhaoLei],
    log: testLog,
    ...extra,
  });
  sessions.push(session);
  return session;
}

/** Waits until `file` exists and holds more than `minBytes`, at most `timeoutMs`. */
async function fileGrowsPast(file: string, minBytes: number, timeoutMs: number): Promise<number> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (existsSync(file) && statSync(file).size > minBytes) return statSync(file).size;
  }
  throw new Error(`${path.basename(file)} did not grow past ${minBytes} bytes within ${timeoutMs} ms`);
}

let shared: types.Router;

beforeAll(async () => {
  shared = (await newRouter()).router;
});

afterAll(async () => {
  // Every recorder ends with its session, every source and worker here: also when a test failed.
  await Promise.all(sessions.map((s) => s.stop().catch(() => undefined)));
  for (const s of sources) s.stop();
  for (const w of workers) w.close();
  removeTempDirs();
});

describe('a recorder killed mid-recording', () => {
  it('is restarted as segment 2 of the same track; the manifest lists both files and the gap, each decodable and hashed', async () => {
    const src = await source(shared, { video: true });
    const audit = AuditTrail.open(path.join(tempDir(), 'audit.jsonl'));
    const session = startSession(shared, { audit });
    const track = await session.addTrack({ producer: src.video!, source: 'camera', owner: zhaoLei });
    await sleep(1500);

    const restarted = nextEvent<[TrackRestart]>((l) => session.once('trackRestarted', l), 10_000, 'trackRestarted');
    const killedAt = Date.now();
    process.kill(track.pid!, 'SIGKILL');
    const [restart] = await restarted;
    expect(restart).toMatchObject({ trackId: track.trackId, segment: 2, name: '赵磊', source: 'camera' });
    expect(restart.cause).toMatch(/SIGKILL/);
    expect(restart.file).not.toBe(track.file);
    expect(Date.now() - killedAt).toBeLessThan(5000);

    // The new file appears and keeps growing: the track is being recorded again.
    const second = path.join(session.dir, restart.file);
    const early = await fileGrowsPast(second, 0, 6000);
    await fileGrowsPast(second, early, 3000);
    const journal = readJournal(session.dir);
    expect(journal.ok && journal.journal.tracks[0]!.segments?.map((s) => [s.index, s.state])).toEqual([
      [1, 'failed'],
      [2, 'recording'],
    ]);
    await sleep(1000);

    // Had the server died now, recovery would find both segments in the journal: a copy of the folder
    // as it is (the live recorder is not the copy's: recovery leaves it alone) is recovered segment by segment.
    const crashed = tempDir();
    const copy = path.join(crashed, 'mdt-zl-0517', path.basename(session.dir));
    cpSync(session.dir, copy, { recursive: true });
    // Without the live trail: recovery would note the interruption in it, while this test still writes to it.
    const journalFile = path.join(copy, 'session.json');
    writeFileSync(journalFile, JSON.stringify({ ...(JSON.parse(readFileSync(journalFile, 'utf8')) as object), auditFile: null }));
    const [recovered] = await recoverRecordings({ recordingsDir: crashed, log: testLog });
    const rt = recovered!.entry.manifest!.tracks[0]!;
    expect(recovered!.entry.manifest).toMatchObject({
      status: 'interrupted',
      interruption: { reason: expect.stringMatching(/server process stopped/) },
    });
    expect(rt.status).toBe('resumed');
    expect(rt.segments?.map((s) => [s.index, s.status])).toEqual([
      [1, 'failed'],
      [2, 'recovered'],
    ]);
    expect(rt.gaps).toHaveLength(1);
    expect(recovered!.entry.files.map((f) => f.segment)).toEqual([1, 2]);

    const manifest = await session.stop(wangFang);
    expect(manifest.status).toBe('complete');
    expect(manifest.tracks).toHaveLength(1);
    const t = manifest.tracks[0]!;
    expect(t.status).toBe('resumed');
    expect(t.segments?.map((s) => s.status)).toEqual(['failed', 'complete']);
    const [one, two] = t.segments!;
    // Segment 1 was cut short: its original is kept and hashed, a repaired copy is what is listed.
    expect(one!.original?.file).toBe(track.file);
    expect(one!.file).toMatch(/\.repaired\.webm$/);
    expect(two!.file).toBe(restart.file);
    expect(t.file).toBe(one!.file); // the track's own fields stay its first file's
    expect(t.gaps).toHaveLength(1);
    const gap = t.gaps![0]!;
    expect(gap).toMatchObject({ afterSegment: 1, fromOffsetMs: one!.endOffsetMs, toOffsetMs: two!.startOffsetMs });
    expect(gap.cause).toMatch(/SIGKILL/);
    expect(gap.durationMs).toBeGreaterThanOrEqual(0);
    expect(gap.durationMs).toBeLessThan(5000);
    expect(two!.startOffsetMs).toBeGreaterThan(one!.startOffsetMs);
    for (const s of t.segments!) {
      const file = path.join(session.dir, s.file);
      expect(sha256OfFile(file)).toBe(s.sha256);
      expect(s.durationSeconds).toBeGreaterThan(0.5);
      expect(await decodeErrors(file)).toBe('');
    }
    expect(sha256OfFile(path.join(session.dir, one!.original!.file))).toBe(one!.original!.sha256);

    // The case record ships every file of the track; the trail notes the restart.
    const entry = recordingEntry(manifest, session.dir, audit.events());
    expect(entry.files.map((f) => [f.name, f.segment, f.sha256])).toEqual(t.segments!.map((s) => [s.file, s.index, s.sha256]));
    expect(audit.events().find((e) => e.type === 'recording_track_restarted')?.data).toMatchObject({
      trackId: track.trackId,
      segment: 2,
    });
    audit.close();
    src.stop();
  });

  it('is restarted at most `restartLimit.max` times per window; then the track fails and the error says so', async () => {
    const src = await source(shared, { audio: true });
    const session = startSession(shared, { restartLimit: { max: 1, windowMs: 60_000 } });
    const track = await session.addTrack({ producer: src.audio!, source: 'microphone', owner: wangFang });
    await sleep(800);
    const restarted = nextEvent<[TrackRestart]>((l) => session.once('trackRestarted', l), 10_000, 'trackRestarted');
    process.kill(track.pid!, 'SIGKILL');
    await restarted;
    await sleep(800);
    const failed = nextEvent<[RecordingError]>((l) => session.once('error', l), 10_000, 'error event');
    process.kill(session.tracks()[0]!.pid!, 'SIGKILL');
    const [error] = await failed;
    expect(error.message).toMatch(/after 1 restart; not restarted again/);
    expect(error.track).toMatchObject({ trackId: track.trackId, status: 'failed' });
    expect(error.track!.segments?.map((s) => s.status)).toEqual(['failed', 'failed']);
    expect(session.state).toBe('recording'); // the session itself goes on
    const manifest = await session.stop();
    expect(manifest.tracks[0]!.segments).toHaveLength(2);
    src.stop();
  });
});

describe('the media worker under a recording killed', () => {
  it('ends the recording as interrupted, with the reason, and keeps what was recorded', async () => {
    const { worker, router } = await newRouter();
    const src = await source(router, { video: true, audio: true });
    const session = startSession(router);
    await Promise.all([
      session.addTrack({ producer: src.video!, source: 'camera', owner: zhaoLei }),
      session.addTrack({ producer: src.audio!, source: 'microphone', owner: zhaoLei }),
    ]);
    await sleep(1500);
    const stopped = nextEvent<[RecordingManifest]>((l) => session.once('stopped', l), 15_000, 'stopped');
    process.kill(worker.pid, 'SIGKILL');
    const [manifest] = await stopped;
    src.stop();

    expect(manifest.status).toBe('interrupted');
    expect(manifest.interruption?.reason).toMatch(/media worker .* died/);
    expect(Date.parse(manifest.interruption!.at)).toBeLessThanOrEqual(Date.parse(manifest.stoppedAt));
    expect(manifest.tracks).toHaveLength(2);
    for (const t of manifest.tracks) {
      // Nothing to restart: the producer went with the worker. The files were ended properly.
      expect(t.segments).toHaveLength(1);
      expect(t.status).toBe('complete');
      expect(t.durationSeconds).toBeGreaterThan(1);
      expect(sha256OfFile(path.join(session.dir, t.file))).toBe(t.sha256);
      expect(await decodeErrors(path.join(session.dir, t.file))).toBe('');
    }
  });
});
