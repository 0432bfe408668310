/** The public types of WeriftViewer (./WeriftViewer.ts): its options, statistics and events. */
import type { AssemblerCounters } from './rtpReceive.js';

export type MediaKind = 'audio' | 'video';

export interface WeriftViewerOptions {
  /** Signaling URL, e.g. http://127.0.0.1:3000 (loopback only unless `allowRemote`). */
  url: string;
  token: string;
  /** Debug log line sink (default: silent). */
  log?: (line: string) => void;
  /** Per signaling request (default 10 s). */
  requestTimeoutMs?: number;
  /** Overall bound on `join` (default 20 s). */
  joinTimeoutMs?: number;
  /** Trailing window of `stats().*.bitrateBps` (default 5 s). */
  bitrateWindowMs?: number;
  /** Allow a non-loopback signaling URL and ICE candidates (default false). */
  allowRemote?: boolean;
}

export interface KindStats {
  /** Consumers of this kind currently open. */
  consumers: number;
  /** RTP packets (unique) and their bytes (header + payload), since joining, closed consumers included. */
  packets: number;
  bytes: number;
  /** RFC 3550 loss: packets expected from the sequence numbers, and how many of them never arrived. */
  expected: number;
  lost: number;
  /** Received bitrate over the trailing window (bits per second). */
  bitrateBps: number;
}

export interface VideoStats extends KindStats, AssemblerCounters {
  /** Size of the last key frame received, from its VP8 frame header. */
  width: number | undefined;
  height: number | undefined;
  /** PLIs this viewer sent (no key frame yet, or frames lost since the last one). */
  pliSent: number;
}

export interface ViewerStats {
  /** performance.now() when taken. */
  at: number;
  participantId: string | undefined;
  connectionState: string;
  /** performance.now() when `join` was called; the durations below count from there (ms). */
  joinRequestedAt: number;
  joinedMs: number | undefined;
  transportConnectedMs: number | undefined;
  firstRtpMs: number | undefined;
  firstKeyFrameMs: number | undefined;
  audio: KindStats;
  video: VideoStats;
}

export interface ViewerEvents {
  firstRtp: [kind: MediaKind];
  keyFrame: [info: { consumerId: string; width: number; height: number }];
  consumerAdded: [info: { consumerId: string; producerId: string; kind: MediaKind; source: string }];
  consumerClosed: [consumerId: string];
  /** Something went wrong but the viewer carries on (e.g. a producer closed while being consumed). */
  warning: [message: string];
  /** The session is over (closed by us, the server, or the socket). */
  closed: [reason: string];
}
