/**
 * Ingest: a programme published into a broadcast or training room by an encoder (OBS, vMix, a
 * hardware encoder) over WHIP or RTMP instead of a browser. The encoder appears in the room as a
 * presenter named by the ingest; moderators see its state and health.
 */
import type { Site } from './domain.js';

export const INGEST_PROTOCOLS = ['whip', 'rtmp'] as const;
export type IngestProtocol = (typeof INGEST_PROTOCOLS)[number];

/**
 * `waiting`: created, no encoder yet (or the last programme ended and none has started since);
 * `live`: media arrives; `reconnecting`: the encoder dropped and the presenter is kept for the grace
 * period; `ended`: the programme is over (DELETE, grace passed, removed, revoked or expired).
 */
export const INGEST_STATES = ['waiting', 'live', 'reconnecting', 'ended'] as const;
export type IngestState = (typeof INGEST_STATES)[number];

/** What the server measured over the last few seconds of the encoder's media. */
export interface IngestHealth {
  /** Everything received, all tracks (bits per second). */
  bitrateBps: number;
  /** Video frames per second (highest simulcast layer); null without video or before a measure. */
  frameRate: number | null;
  /** Time between the last two key frames; null before two were seen. */
  keyFrameIntervalMs: number | null;
  /** Packets lost since the programme started, and the latest loss fraction (percent). */
  packetsLost: number;
  lossPercent: number;
  /** RTMP: whether the video is passed through (`copy`) or re-encoded (`transcode`); null for WHIP. */
  videoMode: 'copy' | 'transcode' | null;
  measuredAt: string;
}

export interface IngestInfo {
  id: string;
  room: string;
  protocol: IngestProtocol;
  /** The presenter's name and site as the audience sees them. */
  name: string;
  site: Site;
  state: IngestState;
  createdAt: string;
  expiresAt: string;
  /** Who created it: a moderator's identity or the admin token's subject. */
  createdBy: string;
  /** The presenter in the room while the programme runs. */
  participantId: string | null;
  /** Where the encoder sends: the WHIP endpoint, or the RTMP URL without its stream key. */
  url: string;
  health: IngestHealth | null;
}

/** Created: the ingest and, once only, its secret (WHIP bearer token, or RTMP stream key). */
export interface IngestGrant {
  ingest: IngestInfo;
  token: string;
  /** RTMP: the full URL with the key in it (what goes into the encoder's "server" + "stream key"). */
  publishUrl: string;
}
