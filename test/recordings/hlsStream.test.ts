/**
 * HlsStream on the shared PlainFeed, against a real worker and FFmpeg: segments appear and stop()
 * ends FFmpeg; an FFmpeg that dies before listening fails the start and leaves no transport behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/codecs.js';
import { HlsStream } from '../../server/media/HlsStream.js';
import { DEFAULT_FFMPEG } from '../../recordings/ffmpeg.js';
import type { Room } from '../../server/rooms/Room.js';
import { removeTempDirs, tempDir, testLog } from './helpers/files.js';
import { startMediaSource, type MediaSource } from './helpers/media.js';

let worker: types.Worker;
let router: types.Router;
let source: MediaSource;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  source = await startMediaSource(router);
});

afterAll(() => {
  source?.stop();
  worker?.close();
  removeTempDirs();
});

/** Just what HlsStream reads of a room: its router and one presenter's camera and microphone. */
function room(): Room {
  const presenter = {
    publishesByRole: true,
    producersOf: (s: string) => (s === 'camera' ? [{ producer: source.video! }] : s === 'microphone' ? [{ producer: source.audio! }] : []),
  };
  return { router, participants: () => [presenter] } as unknown as Room;
}

async function transportCount(): Promise<number> {
  return (await router.dump()).transportIds.length;
}

describe('HlsStream', () => {
  it('writes a live playlist with segments; stop() ends FFmpeg and frees the feeds', async () => {
    const before = await transportCount();
    const dir = path.join(tempDir(), 'hls');
    const stream = await HlsStream.start(room(), dir, testLog);
    expect(await transportCount()).toBe(before + 2);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && readdirSync(dir).filter((f) => f.endsWith('.ts')).length < 1)
      await new Promise((r) => setTimeout(r, 250));
    expect(existsSync(path.join(dir, 'index.m3u8'))).toBe(true);
    await stream.stop();
    expect(await transportCount()).toBe(before);
  }, 30_000);

  it('an FFmpeg that dies before listening fails the start, leaving nothing running', async () => {
    const before = await transportCount();
    const real = DEFAULT_FFMPEG.ffmpeg;
    DEFAULT_FFMPEG.ffmpeg = 'false'; // exits at once with status 1, never binds
    try {
      await expect(HlsStream.start(room(), path.join(tempDir(), 'hls'), testLog)).rejects.toThrow(/did not start/);
    } finally {
      DEFAULT_FFMPEG.ffmpeg = real;
    }
    expect(await transportCount()).toBe(before);
  });
});
