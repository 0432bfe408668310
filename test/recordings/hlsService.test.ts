/**
 * HlsService owns every FFmpeg it starts: concurrent starts share one stream, a room that closes
 * while FFmpeg starts stops it, a failed start leaves no folder, and room listeners do not pile up.
 * HlsStream is replaced by a fake whose start the test resolves by hand (no media needed here).
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Participant } from '../../server/rooms/Participant.js';
import type { Room } from '../../server/rooms/Room.js';
import { removeTempDirs, tempDir, testLog } from './helpers/files.js';

class FakeStream extends EventEmitter<{ ended: [] }> {
  stopped = 0;
  stop(): Promise<void> {
    this.stopped++;
    return Promise.resolve();
  }
}

interface PendingStart {
  dir: string;
  resolve: () => FakeStream;
  reject: (error: Error) => void;
}
const starts: PendingStart[] = [];

vi.mock('../../server/media/HlsStream.js', () => ({
  HlsStream: {
    start: (_room: unknown, dir: string) =>
      new Promise((resolve, reject) => {
        mkdirSync(dir, { recursive: true }); // as the real one does, before FFmpeg
        starts.push({
          dir,
          resolve: () => {
            const stream = new FakeStream();
            resolve(stream);
            return stream;
          },
          reject,
        });
      }),
  },
}));

const { HlsService } = await import('../../server/media/HlsService.js');

afterAll(removeTempDirs);
beforeEach(() => {
  starts.length = 0;
});

class FakeRoom extends EventEmitter<{ closed: [] }> {
  readonly id = 'hls-room';
  closed = false;
  hlsUrl: string | null = null;
  readonly notified: unknown[] = [];
  readonly audited: string[] = [];
  /** As Room.setHlsOutput: audits a start, and a stop someone asked for; tells the others while open. */
  setHlsOutput(url: string | null, by?: unknown): void {
    if (this.hlsUrl === url) return;
    this.hlsUrl = url;
    if (url !== null) this.audited.push('hls_started');
    else if (by) this.audited.push('hls_stopped');
    if (!this.closed) this.notified.push({ url });
  }
  close(): void {
    this.closed = true;
    this.emit('closed');
  }
}

const moderator = {} as Participant;
const flush = () => new Promise((r) => setImmediate(r));

function setup() {
  const fake = new FakeRoom();
  return { fake, room: fake as unknown as Room, hls: new HlsService(tempDir(), testLog) };
}

describe('HlsService', () => {
  it('two moderators starting at once get one stream and the same URL', async () => {
    const { fake, room, hls } = setup();
    const a = hls.start(room, moderator);
    const b = hls.start(room, moderator);
    await flush();
    expect(starts).toHaveLength(1);
    const stream = starts[0]!.resolve();
    const [urlA, urlB] = await Promise.all([a, b]);
    expect(urlA).toBe(urlB);
    expect(await hls.start(room, moderator)).toBe(urlA);
    expect(starts).toHaveLength(1);
    expect(fake.audited).toEqual(['hls_started']);
    expect(fake.listenerCount('closed')).toBe(1);

    await hls.stop(room, moderator);
    expect(stream.stopped).toBe(1);
    expect(fake.listenerCount('closed')).toBe(0); // removed with the stream, not left to pile up
    expect(existsSync(starts[0]!.dir)).toBe(false);
    expect(fake.hlsUrl).toBeNull();
  });

  it('a room that closes while FFmpeg starts gets it stopped, and the start fails', async () => {
    const { fake, room, hls } = setup();
    const started = hls.start(room, moderator);
    await flush();
    fake.close();
    const stream = starts[0]!.resolve();
    await expect(started).rejects.toThrow(/closed/);
    expect(stream.stopped).toBe(1);
    expect(existsSync(starts[0]!.dir)).toBe(false);
    expect(fake.listenerCount('closed')).toBe(0);
    await expect(hls.stop(room, moderator)).rejects.toThrow(/not running/);
  });

  it('a failed start removes its folder; FFmpeg ending on its own cleans up once', async () => {
    const { fake, room, hls } = setup();
    const failed = hls.start(room, moderator);
    await flush();
    starts[0]!.reject(new Error('the HLS encoder did not start: boom'));
    await expect(failed).rejects.toThrow(/boom/);
    expect(existsSync(starts[0]!.dir)).toBe(false);

    const again = hls.start(room, moderator);
    await flush();
    const stream = starts[1]!.resolve();
    await again;
    stream.emit('ended');
    await vi.waitFor(() => expect(fake.notified.at(-1)).toEqual({ url: null })); // after the folder is gone
    expect(stream.stopped).toBe(1);
    expect(fake.listenerCount('closed')).toBe(0);
    expect(existsSync(starts[1]!.dir)).toBe(false);
  });

  it('a stop or a shutdown during the start applies to the stream being started', async () => {
    const { room, hls } = setup();
    const started = hls.start(room, moderator);
    await flush();
    const stopping = hls.stop(room, moderator);
    const stream = starts[0]!.resolve();
    await started;
    await stopping;
    expect(stream.stopped).toBe(1);

    const second = hls.start(room, moderator);
    await flush();
    const closing = hls.closeAll();
    const other = starts[1]!.resolve();
    await second;
    await closing;
    expect(other.stopped).toBe(1);
  });

  it('tells observers (event webhooks) when output starts, and when it stops for any reason', async () => {
    const { room, hls } = setup();
    const told: string[] = [];
    hls.on('started', (r, url, by) => told.push(`started ${r.id} ${url.startsWith('/hls/hls-room-')} ${by === moderator}`));
    hls.on('stopped', (r, by) => told.push(`stopped ${r.id} ${by === moderator ? 'by moderator' : 'by itself'}`));
    const first = hls.start(room, moderator);
    await flush();
    starts[0]!.resolve();
    await first;
    await hls.stop(room, moderator);
    const second = hls.start(room, moderator);
    await flush();
    const stream = starts[1]!.resolve();
    await second;
    stream.emit('ended'); // FFmpeg ended on its own
    await vi.waitFor(() => expect(told).toHaveLength(4));
    expect(told).toEqual([
      'started hls-room true true',
      'stopped hls-room by moderator',
      'started hls-room true true',
      'stopped hls-room by itself',
    ]);
  });
});
