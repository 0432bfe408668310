/**
 * How loud each remote participant is, for level meters and "who is talking" beyond the one active
 * speaker the server names: the received audio tracks' `audioLevel` (0–1, from the browser's
 * statistics), read every `intervalMs` — only while someone listens to `audioLevels`, so a page that
 * shows no meters costs nothing.
 */
import type { RemoteTrack } from './RemoteTracks.js';

export interface AudioLevelSource {
  /** The received audio tracks now. */
  tracks(): RemoteTrack[];
  /** The browser's statistics of one received track (its consumer's). */
  stats(trackId: string): Promise<RTCStatsReport | undefined>;
  /** Whether anyone still listens; polling stops by itself when not. */
  wanted(): boolean;
  levels(levels: Record<string, number>): void;
}

export class AudioLevels {
  readonly #source: AudioLevelSource;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #reading = false;

  constructor(source: AudioLevelSource, intervalMs = 500) {
    this.#source = source;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#tick(), this.#intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (!this.#source.wanted()) return this.stop();
    if (this.#reading) return; // a slow getStats never piles up
    this.#reading = true;
    try {
      const levels: Record<string, number> = {};
      for (const track of this.#source.tracks()) {
        if (track.kind !== 'audio' || track.paused) continue;
        const report = await this.#source.stats(track.id);
        report?.forEach((s: { type: string; kind?: string; audioLevel?: number }) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio' && typeof s.audioLevel === 'number')
            levels[track.participant.id] = Math.max(levels[track.participant.id] ?? 0, s.audioLevel);
        });
      }
      this.#source.levels(levels);
    } finally {
      this.#reading = false;
    }
  }
}
