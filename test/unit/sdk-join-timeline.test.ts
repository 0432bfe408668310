/**
 * JoinTimeline: each phase noted once, at its first occurrence; the first video packet noted when a
 * received track unmutes (or at once if it already has), and only for the first such track.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JoinTimeline } from '../../client-sdk/src/JoinTimeline.js';

/** What the timeline uses of a received MediaStreamTrack: `muted`, and its `unmute` event. */
function receivedTrack(muted: boolean): MediaStreamTrack & { unmute(): void } {
  const target = new EventTarget();
  return Object.assign(target, {
    muted,
    unmute() {
      this.muted = false;
      target.dispatchEvent(new Event('unmute'));
    },
  }) as unknown as MediaStreamTrack & { unmute(): void };
}

describe('JoinTimeline', () => {
  afterEach(() => vi.useRealTimers());

  it('notes a phase once, at its first occurrence, in ms from the start', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const timeline = new JoinTimeline();
    vi.advanceTimersByTime(12);
    timeline.mark('socketOpen');
    vi.advanceTimersByTime(30);
    timeline.mark('socketOpen'); // a reconnect later does not move it
    timeline.mark('joined');
    expect(timeline.timings).toEqual({ socketOpen: 12, joined: 42 });
  });

  it('notes the first video packet when the first received track unmutes, not when a later one does', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const timeline = new JoinTimeline();
    const first = receivedTrack(true);
    const second = receivedTrack(true);
    timeline.watchFirstVideoPacket(first);
    timeline.watchFirstVideoPacket(second);
    vi.advanceTimersByTime(80);
    expect(timeline.timings.firstVideoRtp).toBeUndefined(); // nothing arrived yet
    second.unmute();
    vi.advanceTimersByTime(40);
    first.unmute();
    expect(timeline.timings.firstVideoRtp).toBe(80);
  });

  it('a track that already has packets is noted at once; once noted, new tracks are not watched', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const timeline = new JoinTimeline();
    vi.advanceTimersByTime(5);
    timeline.watchFirstVideoPacket(receivedTrack(false));
    const later = receivedTrack(true);
    const listen = vi.spyOn(later, 'addEventListener');
    timeline.watchFirstVideoPacket(later);
    expect(timeline.timings.firstVideoRtp).toBe(5);
    expect(listen).not.toHaveBeenCalled();
  });
});
