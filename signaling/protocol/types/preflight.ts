/**
 * The pre-call check's request (`preflight`): a person with a valid token tests, before joining and
 * without entering the room, whether media reaches this server over UDP, over TCP and through the
 * TURN relay. One request name with a `step`, so the check adds one entry to the protocol:
 *
 *   ping                       signaling round trips (the client times them); whether TURN is offered
 *   open { path }              a short-lived send-only transport limited to that path
 *   connect / produce          as for a real transport (DTLS, one track)
 *   report { testId }          what the server received (bytes, packets, bitrate, RTT, protocol); closes the test
 *
 * Tests are bounded by the server (lifetime, how many at once, how many per person per minute) and
 * closed when the socket goes, whatever the client does.
 */
import type { MediaKind } from './domain.js';
import type { TransportOptions, WireDtlsParameters, WireRtpParameters } from './requests.js';

/** How media is sent in one test: ICE over UDP only, over TCP only, or relayed by TURN. */
export const PREFLIGHT_PATHS = ['udp', 'tcp', 'relay'] as const;
export type PreflightPath = (typeof PREFLIGHT_PATHS)[number];

export type PreflightRequest =
  | { step: 'ping' }
  | { step: 'open'; path: PreflightPath }
  | { step: 'connect'; testId: string; dtlsParameters: WireDtlsParameters }
  | { step: 'produce'; testId: string; kind: MediaKind; rtpParameters: WireRtpParameters }
  | { step: 'report'; testId: string };
export type PreflightStep = PreflightRequest['step'];

/** What the server measured on one test transport when the client asked for the report. */
export interface PreflightMediaReport {
  /** The ICE tuple's protocol as the server saw it (a TURN relay reaches us over UDP); null: no path was found. */
  protocol: 'udp' | 'tcp' | null;
  bytes: number;
  packets: number;
  /** Received bits per second, over the test so far (from the first packet). */
  bitrate: number;
  /** From the RTCP the client sent, when it carried enough to compute it; else null. */
  rttMs: number | null;
}

export interface PreflightAnswers {
  /** `relay`: whether this server hands out a TURN relay (TURN_URLS); without one, `open` with path relay is NOT_FOUND. */
  ping: { serverTime: number; relay: boolean };
  /** `seconds`: the test closes by itself after this long (then `report` is NOT_FOUND). */
  open: { testId: string; transport: TransportOptions; seconds: number };
  connect: Record<string, never>;
  produce: { producerId: string };
  report: PreflightMediaReport;
}
export type PreflightAnswer = PreflightAnswers[PreflightStep];
