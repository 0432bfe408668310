/**
 * The health of an encoder's programme as the server receives it, for moderators and metrics:
 * bitrate and loss from the producers' RTP statistics, the key-frame interval from mediasoup's
 * 'keyframe' trace (one message per key frame, kept on), and the frame rate by counting the frames
 * (RTP marker bits) of the video during a short window, with the per-packet 'rtp' trace switched on
 * only for that window: a message per packet for the life of the programme would cost more than it tells.
 */
import type { types } from 'mediasoup';
import type { IngestHealth } from '../../signaling/protocol/index.js';

/** How long the frame counting window lasts at each measure. */
export const FRAME_WINDOW_MS = 1000;

export class HealthMeter {
  /** Key-frame arrival times (ms) per video producer: the last two. */
  readonly #keyFrames = new Map<string, number[]>();
  readonly #traced = new WeakSet<types.Producer>();

  async measure(producers: types.Producer[], videoMode: IngestHealth['videoMode']): Promise<IngestHealth> {
    const video = producers.filter((p) => p.kind === 'video' && !p.closed);
    for (const producer of video) await this.#traceKeyFrames(producer);
    const frameRate = await this.#frameRate(video[0]);
    let bitrateBps = 0;
    let packetsLost = 0;
    let fractionLost = 0;
    for (const producer of producers) {
      if (producer.closed) continue;
      const stats = await producer.getStats().catch(() => []);
      for (const s of stats) {
        bitrateBps += s.bitrate;
        packetsLost += s.packetsLost;
        fractionLost = Math.max(fractionLost, s.fractionLost);
      }
    }
    const times = video[0] ? (this.#keyFrames.get(video[0].id) ?? []) : [];
    return {
      bitrateBps: Math.round(bitrateBps),
      frameRate,
      keyFrameIntervalMs: times.length === 2 ? times[1]! - times[0]! : null,
      packetsLost,
      // RTP's loss fraction is in 1/256ths.
      lossPercent: Math.round((fractionLost / 256) * 1000) / 10,
      videoMode,
      measuredAt: new Date().toISOString(),
    };
  }

  async #traceKeyFrames(producer: types.Producer): Promise<void> {
    if (this.#traced.has(producer)) return;
    this.#traced.add(producer);
    producer.on('trace', (trace) => {
      if (trace.type !== 'keyframe') return;
      const times = this.#keyFrames.get(producer.id) ?? [];
      times.push(Date.now());
      this.#keyFrames.set(producer.id, times.slice(-2));
    });
    await producer.enableTraceEvent(['keyframe']).catch(() => undefined);
  }

  /** Frames per second of the busiest stream (a simulcast's top layer) over FRAME_WINDOW_MS. */
  async #frameRate(producer: types.Producer | undefined): Promise<number | null> {
    if (!producer) return null;
    const frames = new Map<number, number>();
    const count = (trace: types.ProducerTraceEventData): void => {
      const packet = trace.type === 'rtp' ? (trace.info as { rtpPacket?: { ssrc: number; marker: boolean } }).rtpPacket : undefined;
      if (packet?.marker) frames.set(packet.ssrc, (frames.get(packet.ssrc) ?? 0) + 1);
    };
    producer.on('trace', count);
    try {
      await producer.enableTraceEvent(['keyframe', 'rtp']);
      await new Promise((r) => setTimeout(r, FRAME_WINDOW_MS));
      await producer.enableTraceEvent(['keyframe']);
    } catch {
      return null; // closed meanwhile
    } finally {
      producer.off('trace', count);
    }
    const busiest = Math.max(0, ...frames.values());
    return Math.round((busiest * 1000) / FRAME_WINDOW_MS);
  }
}
