/**
 * The pre-call check's local half: does the camera show something, does the microphone hear
 * something, which speakers are there. A device that opens but sends black frames or silence (a
 * covered lens, a hardware mute switch) is the commonest "they cannot see / hear me" at a clinic, so
 * the check looks at what the track carries, not only that it exists.
 */
import { listDevices } from './Devices.js';
import type { CaptureCheck, PreflightReason, SpeakerCheck } from './preflightTypes.js';

/** How long to look and listen for a signal before saying there is none. */
const SIGNAL_WINDOW_MS = 2500;
const SAMPLE_EVERY_MS = 50;
/** Mean luma (0-255) above which a frame is not black. */
const LIGHT_LUMA = 16;
/** Loudness (dBFS) above which the microphone is not silent; a room's hiss is around -70. */
const SOUND_DBFS = -60;

/** Why getUserMedia (or its absence) refused, as a reason code. */
export function captureFailure(error: unknown): { reason: PreflightReason; message: string } {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'NotAllowedError' || name === 'SecurityError') return { reason: 'permission_denied', message };
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return { reason: 'no_device', message };
  if (name === 'NotReadableError' || name === 'AbortError') return { reason: 'device_in_use', message };
  return { reason: 'error', message };
}

/** The browser's capture API, or why there is none. */
export function captureApi(): MediaDevices | { reason: PreflightReason; message: string } {
  if (typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getUserMedia === 'function') return navigator.mediaDevices;
  if (typeof window !== 'undefined' && !window.isSecureContext)
    return { reason: 'insecure_page', message: 'open this page over https:// (请通过 https:// 打开本页面)' };
  return { reason: 'not_supported', message: 'this browser gives no access to a camera or microphone' };
}

/** Opens one device of a kind; the caller stops the track. */
export async function capture(kind: 'video' | 'audio', deviceId?: string): Promise<MediaStreamTrack | CaptureCheck> {
  const api = captureApi();
  if (!('getUserMedia' in api)) return { status: 'failed', ...api };
  try {
    const constraints: MediaTrackConstraints | boolean = deviceId ? { deviceId: { exact: deviceId } } : true;
    const stream = await api.getUserMedia(kind === 'video' ? { video: constraints } : { audio: constraints });
    const track = stream.getTracks()[0];
    return track ?? { status: 'failed', reason: 'no_device', message: `no ${kind} track` };
  } catch (error) {
    return { status: 'failed', ...captureFailure(error) };
  }
}

function describe(track: MediaStreamTrack): { deviceId: string; label: string } {
  return { deviceId: track.getSettings().deviceId ?? '', label: track.label };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples `probe` until it reports a level at or above `enough`, or the window ends; the best level seen. */
async function loudest(probe: () => number | null, enough: number): Promise<number | null> {
  let best: number | null = null;
  for (const end = Date.now() + SIGNAL_WINDOW_MS; Date.now() < end; await pause(SAMPLE_EVERY_MS)) {
    const level = probe();
    if (level !== null && (best === null || level > best)) best = level;
    if (best !== null && best >= enough) break;
  }
  return best;
}

/** Whether the camera's frames are not black: the mean luma of small copies of them. */
export async function cameraSignal(track: MediaStreamTrack): Promise<CaptureCheck> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 48;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  try {
    await video.play();
    if (!context) return { status: 'skipped', reason: 'not_supported', device: describe(track) };
    const level = await loudest(() => {
      if (video.readyState < 2) return null;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let luma = 0;
      for (let i = 0; i < data.length; i += 4) luma += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      return luma / (data.length / 4);
    }, LIGHT_LUMA);
    return signalOutcome(track, level, LIGHT_LUMA);
  } catch (error) {
    return { status: 'failed', reason: 'error', message: String(error), device: describe(track) };
  } finally {
    video.srcObject = null;
  }
}

/** Whether the microphone hears anything: the loudest RMS level (dBFS) over the window. */
export async function microphoneSignal(track: MediaStreamTrack): Promise<CaptureCheck> {
  const Context = typeof AudioContext === 'undefined' ? undefined : AudioContext;
  if (!Context) return { status: 'skipped', reason: 'not_supported', device: describe(track) };
  const audio = new Context();
  try {
    // Started outside a user gesture it may be suspended; resume() works where the page may play sound.
    if (audio.state === 'suspended') await Promise.race([audio.resume(), pause(500)]);
    if (audio.state !== 'running')
      return { status: 'skipped', reason: 'not_supported', message: 'audio analysis needs a click first', device: describe(track) };
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const level = await loudest(() => {
      analyser.getFloatTimeDomainData(samples);
      let power = 0;
      for (const s of samples) power += s * s;
      const rms = Math.sqrt(power / samples.length);
      return rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
    }, SOUND_DBFS);
    return signalOutcome(track, level, SOUND_DBFS);
  } finally {
    void audio.close().catch(() => undefined);
  }
}

function signalOutcome(track: MediaStreamTrack, level: number | null, enough: number): CaptureCheck {
  const device = describe(track);
  if (level === null) return { status: 'failed', reason: 'no_signal', message: 'no frame or sample arrived', device };
  const rounded = Math.round(level * 10) / 10;
  return level >= enough ? { status: 'ok', device, level: rounded } : { status: 'failed', reason: 'no_signal', device, level: rounded };
}

/** The speakers listed, and whether the page may choose one. */
export async function speakerCheck(): Promise<SpeakerCheck> {
  const canChoose = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  const speakers = (await listDevices().catch(() => ({ speakers: [] as MediaDeviceInfo[] }))).speakers.map((d) => ({
    deviceId: d.deviceId,
    label: d.label,
  }));
  // Browsers that do not list outputs still play on the system's default: nothing has failed.
  if (speakers.length === 0) return { status: 'skipped', reason: canChoose ? 'no_device' : 'not_supported', speakers, canChoose };
  return { status: 'ok', speakers, canChoose };
}
