/**
 * AudioPlayback (the SDK's remote sound): a refused play() is reported once as blocked, not swallowed;
 * start() plays every element again and reports started; an interrupted play() (AbortError) is no
 * failure; another failure is reported as an error; start() rejects while the browser still refuses.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AudioPlayback } from '../../client-sdk/src/AudioPlayback.js';

/** A stand-in for an <audio> element whose play() the browser refuses until `allowed`. */
class FakeAudio {
  static allowed = false;
  autoplay = true;
  srcObject: unknown = null;
  paused = true;
  failWith: string | null = null;
  play(): Promise<void> {
    if (this.failWith) return Promise.reject(new DOMException('failed', this.failWith));
    if (!FakeAudio.allowed) return Promise.reject(new DOMException('no gesture yet', 'NotAllowedError'));
    this.paused = false;
    return Promise.resolve();
  }
  pause(): void {
    this.paused = true;
  }
}

const track = {} as MediaStreamTrack;
const asElement = (a: FakeAudio) => a as unknown as HTMLMediaElement;
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('AudioPlayback', () => {
  let seen: string[];
  let playback: AudioPlayback;
  beforeEach(() => {
    vi.stubGlobal('MediaStream', class {});
    FakeAudio.allowed = false;
    seen = [];
    playback = new AudioPlayback({
      blocked: () => seen.push('blocked'),
      started: () => seen.push('started'),
      error: (e) => seen.push(`error:${e.name}`),
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('reports a refusal once, and start() after a gesture plays every element', async () => {
    const [a, b] = [new FakeAudio(), new FakeAudio()];
    playback.attach('t1', track, asElement(a));
    playback.attach('t2', track, asElement(b));
    await settle();
    expect(seen).toEqual(['blocked']);
    expect(playback.blocked).toBe(true);
    expect(a.autoplay).toBe(false); // started by play(), whose promise tells a refusal
    await expect(playback.start()).rejects.toMatchObject({ name: 'NotAllowedError' }); // still no gesture
    expect(playback.blocked).toBe(true);
    FakeAudio.allowed = true;
    await playback.start();
    expect(seen).toEqual(['blocked', 'started']);
    expect([a.paused, b.paused, playback.blocked]).toEqual([false, false, false]);
  });

  it('plays at once when allowed; an interrupted play() is no failure, another failure is an error', async () => {
    FakeAudio.allowed = true;
    const ok = new FakeAudio();
    playback.attach('ok', track, asElement(ok));
    const aborted = Object.assign(new FakeAudio(), { failWith: 'AbortError' });
    playback.attach('aborted', track, asElement(aborted));
    const broken = Object.assign(new FakeAudio(), { failWith: 'NotSupportedError' });
    playback.attach('broken', track, asElement(broken));
    await settle();
    expect(ok.paused).toBe(false);
    expect(seen).toEqual(['error:NotSupportedError']);
    expect(playback.blocked).toBe(false);
  });

  it('detach stops and releases the element; start() then ignores it', async () => {
    const a = new FakeAudio();
    playback.attach('t1', track, asElement(a));
    await settle();
    playback.detach('t1');
    expect(a.srcObject).toBeNull();
    await playback.start(); // nothing left that the browser refuses
    expect(seen).toEqual(['blocked', 'started']);
  });
});
