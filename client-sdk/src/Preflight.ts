/**
 * `ConsultationClient.preflight({ url, token })`: the pre-call check a clinic runs before joining.
 * It tests, at the same time, the devices (camera and microphone carry a signal, speakers listed)
 * and the network (signaling reachable and its round trip; media to this server over UDP, over TCP
 * and through TURN, each with round trip and bitrate), without entering the room. It never throws:
 * every check comes back ok, failed or skipped, with a reason code the page translates.
 */
import { ProtocolError } from '../../signaling/protocol/types/index.js';
import { loadDeviceFor } from './DeviceLoader.js';
import { capture, cameraSignal, microphoneSignal, speakerCheck } from './preflightDevices.js';
import { preflightStep, refusalReason, testPath, testPattern } from './preflightPaths.js';
import type { CaptureCheck, MediaPathCheck, PreflightOptions, PreflightResult, SignalingCheck } from './preflightTypes.js';
import { NodeUnreachableError, SignalingConnection } from './SignalingConnection.js';

const PINGS = 3;
const noCheck = (): CaptureCheck => ({ status: 'skipped', reason: 'not_requested' });
const DEFAULT_MEDIA_SECONDS = 3;

export async function preflight(options: PreflightOptions): Promise<PreflightResult> {
  const started = Date.now();
  const [devices, network] = await Promise.all([checkDevices(options), checkNetwork(options)]);
  const result = { ...devices, ...network };
  const checks = [result.camera, result.microphone, result.speaker, result.signaling, result.udp, result.tcp, result.turn];
  return { ...result, ok: checks.every((c) => c.status !== 'failed'), durationMs: Date.now() - started };
}

async function checkDevices(options: PreflightOptions): Promise<Pick<PreflightResult, 'camera' | 'microphone' | 'speaker'>> {
  const [camera, microphone] = await Promise.all([
    options.camera === false ? noCheck() : checkCapture('video', options),
    options.microphone === false ? noCheck() : checkCapture('audio', options),
  ]);
  // After capture: browsers name (and some list) the outputs only once capture was allowed.
  return { camera, microphone, speaker: await speakerCheck() };
}

/** Tests the page's own track of that kind, or opens the device for the test and closes it after. */
async function checkCapture(kind: 'video' | 'audio', options: PreflightOptions): Promise<CaptureCheck> {
  const given = options.tracks?.find((t) => t.kind === kind && t.readyState === 'live');
  const track = given ?? (await capture(kind, kind === 'video' ? options.cameraId : options.microphoneId));
  if (!(track instanceof MediaStreamTrack)) return track;
  try {
    return await (kind === 'video' ? cameraSignal(track) : microphoneSignal(track));
  } finally {
    if (!given) track.stop();
  }
}

type NetworkChecks = Pick<PreflightResult, 'signaling' | 'udp' | 'tcp' | 'turn'>;

async function checkNetwork(options: PreflightOptions): Promise<NetworkChecks> {
  let signaling: SignalingConnection;
  try {
    signaling = await SignalingConnection.connect({
      url: options.url,
      token: options.token,
      connectTimeoutMs: 8000,
      requestTimeoutMs: 15_000,
    });
  } catch (error) {
    const skipped = pathSkipped('no_signaling');
    return { signaling: signalingFailure(error), udp: skipped, tcp: skipped, turn: skipped };
  }
  try {
    const rtts: number[] = [];
    let relay = false;
    for (let i = 0; i < PINGS; i++) {
      const sentAt = performance.now();
      relay = (await preflightStep(signaling, { step: 'ping' })).relay;
      rtts.push(performance.now() - sentAt);
    }
    const check: SignalingCheck = { status: 'ok', rttMs: Math.round(median(rtts) * 10) / 10 };
    if (options.media === false) {
      const skipped = pathSkipped('not_requested');
      return { signaling: check, udp: skipped, tcp: skipped, turn: skipped };
    }
    return { signaling: check, ...(await checkPaths(signaling, relay, options)) };
  } catch (error) {
    const skipped = pathSkipped('no_signaling');
    return { signaling: signalingFailure(error), udp: skipped, tcp: skipped, turn: skipped };
  } finally {
    signaling.close();
  }
}

/** The three paths side by side: a few seconds in all rather than three times that. */
async function checkPaths(
  signaling: SignalingConnection,
  relayOffered: boolean,
  options: PreflightOptions,
): Promise<Omit<NetworkChecks, 'signaling'>> {
  const seconds = Math.min(10, Math.max(1, options.mediaSeconds ?? DEFAULT_MEDIA_SECONDS));
  const device = await loadDeviceFor(signaling, {});
  const pattern = testPattern();
  try {
    const [udp, tcp, turn] = await Promise.all([
      testPath(signaling, device, 'udp', pattern.track, seconds),
      testPath(signaling, device, 'tcp', pattern.track, seconds),
      relayOffered ? testPath(signaling, device, 'relay', pattern.track, seconds) : pathSkipped('turn_not_configured'),
    ]);
    return { udp, tcp, turn };
  } finally {
    pattern.stop();
  }
}

function signalingFailure(error: unknown): SignalingCheck {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NodeUnreachableError) return { status: 'failed', reason: 'unreachable', message, rttMs: null, code: error.code };
  if (error instanceof ProtocolError) {
    const reason = error.code === 'UNAUTHENTICATED' ? 'token_rejected' : refusalReason(error).reason;
    return { status: 'failed', reason, message, rttMs: null, code: error.code };
  }
  return { status: 'failed', reason: 'error', message, rttMs: null };
}

function pathSkipped(reason: 'no_signaling' | 'not_requested' | 'turn_not_configured'): MediaPathCheck {
  return { status: 'skipped', reason, rttMs: null, bitrate: null, bytes: 0, packets: 0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
