/**
 * An unplugged camera or microphone during the call. The browser ends the track (`ended`), or —
 * some browsers, some USB hubs — only fires `devicechange` and leaves the track silent. Either way the
 * published source switches to another device of that kind (keeping the producer: the others see a
 * brief change, no leave), or to the same one if it is still listed (it came back), or is stopped
 * when there is none; the page hears `deviceLost` with what happened, to tell the person.
 */
import { listDevices } from './Devices.js';

export type CaptureSource = 'camera' | 'microphone';

export interface DeviceLoss {
  source: CaptureSource;
  /** The device that went away (its label may be empty if the browser withheld names). */
  lost: { deviceId: string; label: string };
  /** The device now in use, or null: there was none left and the source was stopped. */
  fallback: { deviceId: string; label: string } | null;
  /** What the source now captures (e.g. for your own preview tile), or null. */
  track: MediaStreamTrack | null;
}

export interface DeviceWatchActions {
  /** Capture `deviceId` and put it in place of the lost track (switchCamera / switchMicrophone). */
  switchTo(source: CaptureSource, deviceId: string): Promise<MediaStreamTrack>;
  /** No device left: stop sending this source. */
  stop(source: CaptureSource): Promise<void>;
  /** Whether the source is still published (an unpublished one is nobody's concern). */
  published(source: CaptureSource): boolean;
  lost(loss: DeviceLoss): void;
  error(error: Error): void;
}

const KIND: Record<CaptureSource, MediaDeviceKind> = { camera: 'videoinput', microphone: 'audioinput' };

export class DeviceWatch {
  readonly #actions: DeviceWatchActions;
  readonly #tracks = new Map<CaptureSource, MediaStreamTrack>();
  /** Sources being recovered: a second signal for the same loss must not switch twice. */
  readonly #recovering = new Set<CaptureSource>();
  #listening = false;
  readonly #onChange = (): void => void this.#onDeviceChange().catch(() => undefined);

  constructor(actions: DeviceWatchActions) {
    this.#actions = actions;
  }

  /** Follows the track now carrying `source` (after publishing or switching); the previous one is forgotten. */
  watch(source: CaptureSource, track: MediaStreamTrack): void {
    this.#tracks.set(source, track);
    track.addEventListener('ended', () => {
      if (this.#tracks.get(source) === track) void this.#recover(source, track);
    });
    if (!this.#listening && typeof navigator !== 'undefined' && navigator.mediaDevices) {
      this.#listening = true;
      navigator.mediaDevices.addEventListener('devicechange', this.#onChange);
    }
  }

  /** The session ended: nothing to recover any more. */
  close(): void {
    this.#tracks.clear();
    if (this.#listening) navigator.mediaDevices.removeEventListener('devicechange', this.#onChange);
    this.#listening = false;
  }

  /** A device went away while its track stays "live": treat it as ended. */
  async #onDeviceChange(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [source, track] of this.#tracks) {
      const id = track.getSettings().deviceId;
      if (track.readyState !== 'live' || !id || id === 'default') continue;
      if (!devices.some((d) => d.kind === KIND[source] && d.deviceId === id)) void this.#recover(source, track);
    }
  }

  async #recover(source: CaptureSource, track: MediaStreamTrack): Promise<void> {
    if (this.#recovering.has(source) || !this.#actions.published(source)) return;
    this.#recovering.add(source);
    const lost = { deviceId: track.getSettings().deviceId ?? '', label: track.label };
    try {
      const candidates = (await listDevices())[source === 'camera' ? 'cameras' : 'microphones'];
      // Another device first; the same one only if it is (still, or again) there.
      const ordered = [
        ...candidates.filter((d) => d.deviceId !== lost.deviceId),
        ...candidates.filter((d) => d.deviceId === lost.deviceId),
      ];
      for (const device of ordered) {
        try {
          const next = await this.#actions.switchTo(source, device.deviceId);
          this.watch(source, next);
          this.#actions.lost({ source, lost, fallback: { deviceId: device.deviceId, label: next.label || device.label }, track: next });
          return;
        } catch {
          // That one cannot be opened either (unplugged too, in use): try the next.
        }
      }
      this.#tracks.delete(source);
      await this.#actions
        .stop(source)
        .catch((error: unknown) => this.#actions.error(error instanceof Error ? error : new Error(String(error))));
      this.#actions.lost({ source, lost, fallback: null, track: null });
    } finally {
      this.#recovering.delete(source);
    }
  }
}
