/**
 * The pre-call check's network half: a few seconds of media sent to this server on a test transport
 * limited to one path (UDP only, TCP only, or through the TURN relay), then the server's account of
 * what arrived and the browser's of the round trip. The media is a synthetic moving pattern, so the
 * paths can be tested whatever the camera does, and it is busy enough to show what bitrate the path
 * carries.
 */
import type { Device, types } from 'mediasoup-client';
import {
  ProtocolError,
  type PreflightAnswers,
  type PreflightPath,
  type PreflightRequest,
  type PreflightStep,
} from '../../signaling/protocol/types/index.js';
import type { MediaPathCheck, PreflightReason } from './preflightTypes.js';
import type { SignalingConnection } from './SignalingConnection.js';

/** ICE and DTLS on a path that works take well under a second; a blocked path never connects. */
const CONNECT_TIMEOUT_MS = 10_000;

/** One step of the `preflight` request, typed by its step. */
export async function preflightStep<S extends PreflightStep>(
  signaling: SignalingConnection,
  payload: Extract<PreflightRequest, { step: S }>,
): Promise<PreflightAnswers[S]> {
  // The response map gives the union of every step's answer; the server answers the step asked.
  return (await signaling.request('preflight', payload)) as PreflightAnswers[S];
}

/** A refusal of the server as a reason code. */
export function refusalReason(error: unknown): { reason: PreflightReason; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ProtocolError)) return { reason: 'error', message };
  if (error.code === 'TOO_MANY_REQUESTS') return { reason: 'rate_limited', message };
  if (error.code === 'UNAVAILABLE') return { reason: 'unreachable', message };
  return { reason: 'refused', message };
}

const failed = (reason: PreflightReason, message?: string): MediaPathCheck => ({
  status: 'failed',
  reason,
  ...(message ? { message } : {}),
  rttMs: null,
  bitrate: null,
  bytes: 0,
  packets: 0,
});

/** Sends `seconds` of `track` to the server over `path`; the track is the caller's (a clone is sent). */
export async function testPath(
  signaling: SignalingConnection,
  device: Device,
  path: PreflightPath,
  track: MediaStreamTrack,
  seconds: number,
): Promise<MediaPathCheck> {
  let opened: PreflightAnswers['open'];
  try {
    opened = await preflightStep(signaling, { step: 'open', path });
  } catch (error) {
    const refusal = refusalReason(error);
    return failed(refusal.reason, refusal.message);
  }
  const { testId, transport: options } = opened;
  const transport = device.createSendTransport({ ...options, ...(path === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}) });
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    preflightStep(signaling, { step: 'connect', testId, dtlsParameters }).then(() => callback(), errback);
  });
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    preflightStep(signaling, { step: 'produce', testId, kind, rtpParameters: rtpParameters as never }).then(
      ({ producerId }) => callback({ id: producerId }),
      errback,
    );
  });
  const sent = track.clone();
  try {
    const connected = whenConnected(transport, CONNECT_TIMEOUT_MS);
    await transport.produce({ track: sent, stopTracks: false });
    if (!(await connected)) return failed('blocked', `no connection over ${path} within ${CONNECT_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const local = await browserView(transport);
    const report = await preflightStep(signaling, { step: 'report', testId });
    const rttMs = local.rttMs ?? report.rttMs;
    const measured = {
      rttMs,
      bitrate: report.bitrate,
      bytes: report.bytes,
      packets: report.packets,
      candidateType: local.candidateType,
      ...(report.protocol ? { protocol: report.protocol } : {}),
    };
    if (report.bytes === 0) return { ...measured, status: 'failed', reason: 'no_media' };
    if (path === 'relay' && local.candidateType !== 'relay') return { ...measured, status: 'failed', reason: 'not_relayed' };
    return { ...measured, status: 'ok' };
  } catch (error) {
    const refusal = refusalReason(error);
    return failed(refusal.reason, refusal.message);
  } finally {
    sent.stop();
    transport.close();
    // Ends the server's test if we left before the report (it would end by its time limit anyway).
    void preflightStep(signaling, { step: 'report', testId }).catch(() => undefined);
  }
}

function whenConnected(transport: types.Transport, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    transport.on('connectionstatechange', (state) => {
      if (state !== 'connected' && state !== 'failed') return;
      clearTimeout(timer);
      resolve(state === 'connected');
    });
  });
}

/** The browser's side: the selected candidate pair's round trip and the local candidate type. */
async function browserView(transport: types.Transport): Promise<{ rttMs: number | null; candidateType: string }> {
  const stats = new Map<string, Record<string, unknown>>();
  (await transport.getStats()).forEach((s: Record<string, unknown>) => stats.set(s['id'] as string, s));
  const all = [...stats.values()];
  const selectedId = all.find((s) => s['type'] === 'transport')?.['selectedCandidatePairId'];
  const pair =
    (typeof selectedId === 'string' ? stats.get(selectedId) : undefined) ??
    all.find((s) => s['type'] === 'candidate-pair' && s['state'] === 'succeeded' && s['nominated']);
  const local = pair ? stats.get(pair['localCandidateId'] as string) : undefined;
  const iceRtt = pair?.['currentRoundTripTime'];
  const rtcpRtt = all.find((s) => s['type'] === 'remote-inbound-rtp' && typeof s['roundTripTime'] === 'number')?.['roundTripTime'];
  const seconds = typeof iceRtt === 'number' ? iceRtt : typeof rtcpRtt === 'number' ? rtcpRtt : null;
  return { rttMs: seconds === null ? null : Math.round(seconds * 10_000) / 10, candidateType: String(local?.['candidateType'] ?? '') };
}

/**
 * A moving pattern of coloured blocks, redrawn 15 times a second: stands in for a camera on the
 * test paths, and changes enough that the encoder sends what the path allows. `stop()` ends it.
 */
export function testPattern(): { track: MediaStreamTrack; stop: () => void } {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const context = canvas.getContext('2d');
  const draw = () => {
    if (!context) return;
    for (let x = 0; x < canvas.width; x += 16)
      for (let y = 0; y < canvas.height; y += 16) {
        context.fillStyle = `hsl(${Math.floor(Math.random() * 360)} 70% ${20 + Math.floor(Math.random() * 60)}%)`;
        context.fillRect(x, y, 16, 16);
      }
  };
  draw();
  const timer = setInterval(draw, 1000 / 15);
  const track = canvas.captureStream(15).getVideoTracks()[0]!;
  return {
    track,
    stop: () => {
      clearInterval(timer);
      track.stop();
    },
  };
}
