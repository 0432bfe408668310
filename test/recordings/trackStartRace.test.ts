/**
 * A track that ends while its recorder is still starting (issue #10's fuzz finding): a producer closed
 * a moment after it was published during a recording, or the recording stopped meanwhile. Real
 * mediasoup worker, real FFmpeg sources and recorders. The instant is chosen through mediasoup's own
 * observer events (the recorder's transport, then its consumer, being created) and by closing the
 * producer just before the recorder's consumer is resumed or asked for key-frame traces — mediasoup
 * then really refuses the call ("Channel request handler with ID … not found"), as in the fuzz run.
 *
 * What must hold each time: the track simply ends (`TrackEndedEarly`, or a normal short track when
 * it had started), no `error` event, no error log line, no `recording_error` in the trail, no
 * recorder transport or FFmpeg left, and a manifest that describes every media file in the folder.
 * A real start failure (FFmpeg missing while the producer lives) is still an error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/codecs.js';
import {
  AuditTrail,
  RecordingSession,
  TrackEndedEarly,
  type JournalTrack,
  type RecordingError,
  type RecordingManifest,
  type RecordingSessionOptions,
} from '../../recordings/index.js';
import { readJournal } from '../../recordings/journal.js';
import { removeTempDirs, sleep, tempDir } from './helpers/files.js';
import { startMediaSource, type MediaSource } from './helpers/media.js';
import { wangFang, maLi } from './helpers/people.js';

let worker: types.Worker;
let router: types.Router;
const sources: MediaSource[] = [];
/** Every transport a recorder opened, to check none is left open. */
const recorderTransports: types.PlainTransport[] = [];
/** Called with each recorder consumer as it is created (before its recorder starts). */
let onRecorderConsumer: ((consumer: types.Consumer) => void) | undefined;
let onRecorderTransport: (() => void) | undefined;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  router.observer.on('newtransport', (transport) => {
    if (transport.appData['recording'] !== true) return;
    recorderTransports.push(transport as types.PlainTransport);
    onRecorderTransport?.();
    transport.observer.on('newconsumer', (consumer) => onRecorderConsumer?.(consumer));
  });
});

afterAll(() => {
  for (const s of sources) s.stop();
  worker?.close();
  removeTempDirs();
});

interface Run {
  session: RecordingSession;
  audit: AuditTrail;
  /** Log lines the session wrote (level ≥ debug), parsed. */
  logs: { level: number; msg: string; err?: { message?: string } }[];
  errors: RecordingError[];
}

function startRun(extra: Partial<RecordingSessionOptions> = {}): Run {
  const logs: Run['logs'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Run['logs'][number]);
      done();
    },
  });
  const audit = AuditTrail.open(path.join(tempDir(), 'audit.jsonl'));
  const session = RecordingSession.start({
    router,
    recordingsDir: tempDir(),
    roomId: 'mdt-hq-0602',
    roomKind: 'consultation',
    caseId: 'CASE-HQ-0311',
    startedBy: wangFang,
    participants: [wangFang, maLi],
    audit,
    log: pino({ level: 'debug' }, stream),
    ...extra,
  });
  const errors: RecordingError[] = [];
  session.on('error', (e) => errors.push(e));
  return { session, audit, logs, errors };
}

async function source(want: { video?: boolean; audio?: boolean }): Promise<MediaSource> {
  const s = await startMediaSource(router, want);
  sources.push(s);
  return s;
}

/** The FFmpeg processes writing into `dir` (their command line names it). */
function recordersIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Everything that must hold after a track ended while starting, once the session is stopped. */
async function expectCleanEnd(run: Run, manifest: RecordingManifest): Promise<void> {
  const { session, audit, logs, errors } = run;
  expect(errors).toEqual([]);
  expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  expect(audit.events().map((e) => e.type)).not.toContain('recording_error');
  // No recorder transport (nor so its consumer) left, in Node or in the worker.
  expect(recorderTransports.filter((t) => !t.closed).map((t) => t.id)).toEqual([]);
  const inWorker = new Set((await router.dump()).transportIds);
  expect(recorderTransports.filter((t) => inWorker.has(t.id)).map((t) => t.id)).toEqual([]);
  expect(recordersIn(session.dir)).toEqual([]);
  // The manifest describes every media file in the folder, and the folder holds nothing else.
  const described = new Set(manifest.tracks.flatMap((t) => [t.file, ...(t.segments ?? []).map((s) => s.file)]));
  const journal = readJournal(session.dir);
  expect(journal).toMatchObject({ ok: true, journal: { state: 'stopped' } });
  const journalTracks: JournalTrack[] = journal.ok ? journal.journal.tracks : [];
  const sdps = new Set(journalTracks.flatMap((t) => [t.sdpFile, ...(t.segments ?? []).map((s) => s.sdpFile)]));
  const stray = readdirSync(session.dir).filter((f) => !['session.json', 'manifest.json'].includes(f) && !described.has(f) && !sdps.has(f));
  expect(stray).toEqual([]);
}

/** Closes `producer` just before the recorder's consumer calls `method` (the real race's last step). */
function closeBefore(method: 'resume' | 'enableTraceEvent', producer: types.Producer): void {
  onRecorderConsumer = (consumer) => {
    const original = consumer[method].bind(consumer) as (...args: unknown[]) => Promise<void>;
    consumer[method] = ((...args: unknown[]) => {
      producer.close();
      return original(...args);
    }) as never;
  };
}

describe('a producer that closes while its track recorder is starting', () => {
  const instants = [
    { at: 'at once (in the same tick as addTrack)', kind: 'audio', arm: (p: types.Producer) => p.close(), now: true },
    { at: "when the recorder's transport is created", kind: 'audio', arm: (p: types.Producer) => (onRecorderTransport = () => p.close()) },
    { at: "when the recorder's consumer is created", kind: 'audio', arm: (p: types.Producer) => (onRecorderConsumer = () => p.close()) },
    {
      at: 'just before consumer.enableTraceEvent',
      kind: 'video',
      arm: (p: types.Producer) => closeBefore('enableTraceEvent', p),
      refused: true,
    },
    { at: 'just before consumer.resume', kind: 'audio', arm: (p: types.Producer) => closeBefore('resume', p), refused: true },
  ] as const;

  for (const instant of instants) {
    it(`${instant.at}: the track ends quietly, nothing leaks`, async () => {
      const src = await source(instant.kind === 'video' ? { video: true } : { audio: true });
      const producer = (instant.kind === 'video' ? src.video : src.audio)!;
      const run = startRun();
      if (!('now' in instant)) instant.arm(producer);
      const adding = run.session.addTrack({ producer, source: instant.kind === 'video' ? 'camera' : 'microphone', owner: maLi });
      if ('now' in instant) instant.arm(producer);
      const error = await adding.then(
        () => null,
        (e: unknown) => e,
      );
      onRecorderConsumer = undefined;
      onRecorderTransport = undefined;
      src.stop();

      expect(error).toBeInstanceOf(TrackEndedEarly);
      expect((error as TrackEndedEarly).reason).toBe('its producer closed');
      if ('refused' in instant) {
        // mediasoup really refused the call on the consumer the closed producer took with it.
        expect(String((error as TrackEndedEarly).cause)).toMatch(/not found|closed/i);
        console.info(`[race] ${instant.at}: mediasoup said ${String((error as TrackEndedEarly).cause)}`);
      }
      expect(run.logs.some((l) => l.level === 30 && l.msg === 'track ended before its recording started')).toBe(true);
      expect(run.session.tracks()).toEqual([]);
      const manifest = await run.session.stop(wangFang);
      expect(manifest).toMatchObject({ status: 'complete', tracks: [] });
      await expectCleanEnd(run, manifest);
      expect(run.audit.events().map((e) => e.type)).toEqual(['recording_started', 'recording_stopped']);
      run.audit.close();
    });
  }

  it('right after its consumer was resumed: a short track, ended on its own, described in the manifest', async () => {
    const src = await source({ audio: true });
    const producer = src.audio!;
    const run = startRun();
    onRecorderConsumer = (consumer) => {
      const resume = consumer.resume.bind(consumer);
      consumer.resume = async () => {
        await resume();
        producer.close(); // before the TrackRecorder exists to hear it
      };
    };
    const ended = new Promise<string>((resolve) => run.session.once('trackEnded', (t) => resolve(t.status)));
    const track = await run.session.addTrack({ producer, source: 'microphone', owner: maLi });
    onRecorderConsumer = undefined;
    src.stop();
    // It ends by itself, without the session being stopped: its recorder is not left waiting.
    const status = await Promise.race([ended, sleep(8000).then(() => 'still recording after 8 s')]);
    expect(['empty', 'complete']).toContain(status);
    expect(recordersIn(run.session.dir)).toEqual([]);
    const manifest = await run.session.stop(wangFang);
    expect(manifest.tracks.map((t) => t.trackId)).toEqual([track.trackId]);
    await expectCleanEnd(run, manifest);
    run.audit.close();
  });
});

describe('a recording stopped while a track recorder is starting', () => {
  it('before its consumer was resumed: the start gives up, the manifest has no track, no FFmpeg is left', async () => {
    const src = await source({ audio: true });
    const run = startRun();
    let stopping: Promise<RecordingManifest> | undefined;
    onRecorderConsumer = () => {
      stopping = run.session.stop(wangFang);
    };
    const error = await run.session.addTrack({ producer: src.audio!, source: 'microphone', owner: maLi }).then(
      () => null,
      (e: unknown) => e,
    );
    onRecorderConsumer = undefined;
    expect(error).toBeInstanceOf(TrackEndedEarly);
    expect((error as TrackEndedEarly).reason).toBe('the recording stopped');
    const manifest = await stopping!;
    expect(manifest.tracks).toEqual([]);
    await expectCleanEnd(run, manifest);
    expect(src.audio!.closed).toBe(false); // the producer itself is untouched
    src.stop();
    run.audit.close();
  });

  it('as its consumer is resumed: the track is kept and stopped with the rest, and stop waits for it', async () => {
    const src = await source({ audio: true });
    const run = startRun();
    let stopping: Promise<RecordingManifest> | undefined;
    onRecorderConsumer = (consumer) => {
      const resume = consumer.resume.bind(consumer);
      consumer.resume = () => {
        stopping = run.session.stop(wangFang);
        return resume();
      };
    };
    // Resolves (the recorder had started): the track is the recording's like any other.
    const track = await run.session.addTrack({ producer: src.audio!, source: 'microphone', owner: maLi });
    onRecorderConsumer = undefined;
    const manifest = await stopping!;
    src.stop();
    expect(manifest.tracks).toHaveLength(1);
    expect(manifest.tracks[0]).toMatchObject({ trackId: track.trackId, file: track.file });
    expect(['empty', 'complete']).toContain(manifest.tracks[0]!.status);
    await expectCleanEnd(run, manifest);
    expect(run.audit.events().map((e) => e.type)).toEqual([
      'recording_started',
      'recording_stopped',
      'recording_track_started',
      'recording_track_ended',
    ]);
    run.audit.close();
  });

  it('addTrack after the stop began is refused as an ended track, not an error', async () => {
    const src = await source({ audio: true });
    const run = startRun();
    const stopping = run.session.stop(wangFang);
    await expect(run.session.addTrack({ producer: src.audio!, source: 'microphone', owner: maLi })).rejects.toBeInstanceOf(TrackEndedEarly);
    const manifest = await stopping;
    src.stop();
    await expectCleanEnd(run, manifest);
    run.audit.close();
  });
});

describe('a real start failure', () => {
  it('FFmpeg that cannot start while the producer lives is still an error, audited, with nothing left behind', async () => {
    const src = await source({ audio: true });
    const run = startRun({ ffmpeg: { ffmpeg: '/nonexistent/ffmpeg' } });
    const error = await run.session.addTrack({ producer: src.audio!, source: 'microphone', owner: maLi }).then(
      () => null,
      (e: unknown) => e,
    );
    src.stop();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TrackEndedEarly);
    expect((error as Error).message).toMatch(/the recorder did not start: .*ENOENT/);
    expect(run.logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['track recording could not start']);
    const trail = run.audit.events();
    expect(trail.find((e) => e.type === 'recording_error')?.data).toMatchObject({ identity: maLi.identity, source: 'microphone' });
    await run.session.stop(wangFang);
    expect(recorderTransports.filter((t) => !t.closed)).toEqual([]);
    run.audit.close();
  });
});
