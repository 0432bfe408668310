/**
 * What `ConsultationClient.preflight()` reports: one check per concern, each `ok`, `failed` or
 * `skipped` with a reason code a page translates (the demo's words are in
 * server/public/i18n-messages.js under `preflight.reason.*`).
 */
import type { ErrorCode } from '../../signaling/protocol/types/index.js';

export type CheckStatus = 'ok' | 'failed' | 'skipped';

export const PREFLIGHT_REASONS = [
  /** The person (or the browser's settings) refused camera/microphone access. */
  'permission_denied',
  /** No such device on this computer (or none left). */
  'no_device',
  /** The device exists but cannot be opened (another program holds it). */
  'device_in_use',
  /** The device opened but carries nothing: black frames, silence (a covered lens, a muted headset). */
  'no_signal',
  /** Not a secure page (http:// on an intranet name): the browser gives no camera or microphone. */
  'insecure_page',
  /** This browser cannot do it (no getUserMedia, no speaker choice, no WebRTC). */
  'not_supported',
  /** The server refused the access token (expired, wrong audience, …). */
  'token_rejected',
  /** Nothing answered at the server's address. */
  'unreachable',
  /** The server answered with another refusal (see `code` and `message`). */
  'refused',
  /** Signaling failed, so this media check could not run. */
  'no_signaling',
  /** ICE/DTLS did not connect over this path within the time allowed: blocked by a firewall or proxy. */
  'blocked',
  /** Connected, but no media reached the server. */
  'no_media',
  /** The TURN check connected without the relay (the relay itself was not used). */
  'not_relayed',
  /** The server offers no TURN relay (TURN_URLS not set). */
  'turn_not_configured',
  /** Too many checks in a short time: wait a minute. */
  'rate_limited',
  /** The page asked not to run this check. */
  'not_requested',
  /** Anything else (see `message`). */
  'error',
] as const;
export type PreflightReason = (typeof PREFLIGHT_REASONS)[number];

interface Check {
  status: CheckStatus;
  /** Set unless `status` is ok. */
  reason?: PreflightReason;
  /** For people who read English logs: what the browser or the server said. */
  message?: string;
}

export interface CaptureCheck extends Check {
  /** The device tested, when one was opened. */
  device?: { deviceId: string; label: string };
  /**
   * Camera: the brightest frame's mean luma (0-255; black is below ~16). Microphone: the loudest
   * level heard, dBFS (silence is -100).
   */
  level?: number;
}

export interface SpeakerCheck extends Check {
  speakers: { deviceId: string; label: string }[];
  /** Whether this browser lets a page choose the output (`setSpeaker` / setSinkId). */
  canChoose: boolean;
}

export interface SignalingCheck extends Check {
  /** Median of a few request round trips. */
  rttMs: number | null;
  /** The server's code when it refused. */
  code?: ErrorCode;
}

export interface MediaPathCheck extends Check {
  /** Round-trip time on this path (the browser's ICE measurement, else RTCP). */
  rttMs: number | null;
  /** Bits per second the server received at the end of the test. */
  bitrate: number | null;
  bytes: number;
  packets: number;
  /** The browser's local candidate type on the path used (`host`, `prflx`, `relay`…). */
  candidateType?: string;
  /** The transport protocol the server saw (a TURN relay reaches it over UDP). */
  protocol?: 'udp' | 'tcp';
}

export type PreflightPathName = 'udp' | 'tcp' | 'turn';

export interface PreflightResult {
  camera: CaptureCheck;
  microphone: CaptureCheck;
  speaker: SpeakerCheck;
  signaling: SignalingCheck;
  udp: MediaPathCheck;
  tcp: MediaPathCheck;
  turn: MediaPathCheck;
  /** ok when nothing failed (skipped checks do not count). */
  ok: boolean;
  durationMs: number;
}

export interface PreflightOptions {
  /** The media server, as for `join`. */
  url: string;
  /** An access token for this person and room; the room is not entered. */
  token: string;
  /**
   * Tracks the page already captured (a preview): tested as they are and left running. Otherwise the
   * check captures the camera and microphone itself (with `cameraId` / `microphoneId` if given) and
   * stops them afterwards.
   */
  tracks?: MediaStreamTrack[];
  cameraId?: string;
  microphoneId?: string;
  /** Skip the camera (a viewer or a voice-only consultation), the microphone, or the media paths. */
  camera?: boolean;
  microphone?: boolean;
  media?: boolean;
  /** Seconds of media sent on each path (default 3, at most 10). */
  mediaSeconds?: number;
}
