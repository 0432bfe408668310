/**
 * How one participant's line is doing, from mediasoup's own statistics: what they send and receive
 * (bitrates), the round trip and loss the receivers' reports show, and mediasoup's 0–10 stream
 * score, turned into good / fair / poor — what an operator (or a tile) needs to see that the county
 * hospital's video is breaking up, without reading RTCP.
 */
import type { types } from 'mediasoup';
import type { ConnectionQuality } from '../../signaling/protocol/index.js';
import { MEDIA_CODECS } from '../media/codecs.js';
import type { Participant } from './Participant.js';

export type LineQuality = ConnectionQuality;

export interface CallQuality {
  /** Bits per second the participant sends to the server and receives from it. */
  sendBitrate: number;
  recvBitrate: number;
  /** The server's estimate of what can be sent to them (bps), if measured yet. */
  availableOutgoingBitrate: number | null;
  /** Worst round trip (ms) and loss (%) over their streams, from RTCP; null before any report. */
  rttMs: number | null;
  lossPercent: number | null;
  /** Worst interarrival jitter (ms) over their streams: what the server sees of what they send, and what their reports say of what they receive. */
  jitterMs: number | null;
  /** Lowest mediasoup stream score (0–10) over their streams. */
  score: number | null;
  quality: LineQuality;
}

/** Thresholds of the tiers (a consultation needs lip-sync and a readable image: stricter than chat). */
const GOOD = { rttMs: 150, lossPercent: 2, score: 8 };
const FAIR = { rttMs: 400, lossPercent: 8, score: 5 };

export function grade(q: Pick<CallQuality, 'rttMs' | 'lossPercent' | 'score'>): LineQuality {
  if (q.rttMs === null && q.lossPercent === null && q.score === null) return 'unknown';
  const within = (t: typeof GOOD) => (q.rttMs ?? 0) <= t.rttMs && (q.lossPercent ?? 0) <= t.lossPercent && (q.score ?? 10) >= t.score;
  return within(GOOD) ? 'good' : within(FAIR) ? 'fair' : 'poor';
}

type StreamStats = { fractionLost: number; roundTripTime?: number; score: number; jitter: number; mimeType: string };

/** RTP clock rate of a codec (jitter is reported in its ticks); video's 90 kHz when unknown. */
const clockRate = (mimeType: string): number =>
  MEDIA_CODECS.find((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase())?.clockRate ?? 90_000;

/** Reads every transport, producer and consumer of `participant` once; objects closed meanwhile are skipped. */
export async function callQuality(participant: Participant): Promise<CallQuality> {
  const { transports, producers, consumers } = participant.media();
  const settle = <T>(items: Promise<T>[]) =>
    Promise.allSettled(items).then((r) => r.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : [])));
  const transportStats = (await settle(transports.map((t) => t.getStats()))).flat() as types.WebRtcTransportStat[];
  const streams = [
    ...(await settle(producers.map((p) => p.getStats()))).flat(),
    ...(await settle(consumers.map((c) => c.getStats()))).flat().filter((s) => s.type === 'outbound-rtp'),
  ] as unknown as StreamStats[];
  const rtts = streams.flatMap((s) => (s.roundTripTime !== undefined ? [s.roundTripTime] : []));
  const jitters = streams.map((s) => (s.jitter / clockRate(s.mimeType)) * 1000);
  const available = transportStats.flatMap((t) => (t.availableOutgoingBitrate !== undefined ? [t.availableOutgoingBitrate] : []));
  const measured = {
    rttMs: rtts.length ? Math.round(Math.max(...rtts)) : null,
    // fractionLost is RTCP's 8-bit fraction (0–255) of the last report interval.
    lossPercent: streams.length ? Math.round((Math.max(...streams.map((s) => s.fractionLost)) / 256) * 1000) / 10 : null,
    score: streams.length ? Math.min(...streams.map((s) => s.score)) : null,
  };
  return {
    sendBitrate: transportStats.reduce((n, t) => n + t.recvBitrate, 0),
    recvBitrate: transportStats.reduce((n, t) => n + t.sendBitrate, 0),
    availableOutgoingBitrate: available.length ? Math.min(...available) : null,
    ...measured,
    jitterMs: jitters.length ? Math.round(Math.max(...jitters) * 10) / 10 : null,
    quality: grade(measured),
  };
}
