/**
 * Tells a room how each participant's line is doing (`connectionQuality`), so every tile can show
 * "poor connection" next to the county hospital's doctor instead of everyone guessing why the image
 * froze. One timer per room, not per participant; only people whose media others depend on are
 * watched (everyone in a consultation; presenters, moderators and the stage in a broadcast — not
 * each viewer), and only a changed grade is sent; the latest grades go into every join answer, so a
 * late joiner knows at once who is already on a poor line.
 */
import type { LineQualityReport } from '../../signaling/protocol/index.js';
import type { Participant } from './Participant.js';
import { callQuality } from './callQuality.js';
import type { Room } from './Room.js';

export const QUALITY_INTERVAL_MS = 5000;

export class QualityWatch {
  readonly #room: Room;
  readonly #watched: (p: Participant) => boolean;
  readonly #graded = new Map<string, LineQualityReport>();
  readonly #timer: NodeJS.Timeout;
  #sampling = false;

  constructor(room: Room, watched: (p: Participant) => boolean, intervalMs = QUALITY_INTERVAL_MS) {
    this.#room = room;
    this.#watched = watched;
    this.#timer = setInterval(() => void this.#sample(), intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The last grade sent for each participant still watched. */
  latest(): LineQualityReport[] {
    return [...this.#graded.values()];
  }

  async #sample(): Promise<void> {
    if (this.#sampling) return; // a slow round (a loaded worker) is not stacked on
    this.#sampling = true;
    try {
      const people = this.#room.participants().filter((p) => this.#watched(p) && p.state === 'joined');
      for (const id of this.#graded.keys()) if (!people.some((p) => p.id === id)) this.#graded.delete(id);
      for (const p of people) {
        const line = await callQuality(p).catch(() => undefined);
        if (!line || this.#room.closed) continue;
        this.#room.emit('lineSampled', p, line); // the same sample feeds /metrics: no second timer per room
        if (this.#graded.get(p.id)?.quality === line.quality) continue;
        const report = { participantId: p.id, quality: line.quality, rttMs: line.rttMs, lossPercent: line.lossPercent };
        this.#graded.set(p.id, report);
        this.#room.notifyAbout(p, 'connectionQuality', report, true); // they see their own line too
      }
    } finally {
      this.#sampling = false;
    }
  }
}
