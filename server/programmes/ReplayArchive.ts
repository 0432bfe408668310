/**
 * Replays of programmes whose hospital allows them: when a programme's HLS output stops, its folder
 * (every segment, kept by an EVENT playlist) is finalised as video-on-demand (`#EXT-X-PLAYLIST-TYPE:
 * VOD`, `#EXT-X-ENDLIST`) and moved under `DATA_DIR/replays`, served under an unguessable name until
 * its retention date, then deleted (checked at start and every hour).
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { HlsReplayKeeper } from '../media/HlsService.js';
import type { Room } from '../rooms/Room.js';
import type { ProgrammeRecord, ProgrammeStore } from './ProgrammeStore.js';

export const REPLAY_URL_PREFIX = '/replays';
const DAY_MS = 24 * 3600 * 1000;
const PURGE_INTERVAL_MS = 3600 * 1000;

/** An EVENT playlist as a finished VOD one; ENDLIST once (FFmpeg may have written it already). */
export function finalisePlaylist(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '#EXT-X-ENDLIST');
  const out = lines.map((l) => (l.startsWith('#EXT-X-PLAYLIST-TYPE:') ? '#EXT-X-PLAYLIST-TYPE:VOD' : l));
  if (!out.some((l) => l.startsWith('#EXT-X-PLAYLIST-TYPE:'))) out.splice(1, 0, '#EXT-X-PLAYLIST-TYPE:VOD');
  return `${[...out, '#EXT-X-ENDLIST'].join('\n')}\n`;
}

export function retainUntil(endedAt: string, days: number): string {
  return new Date(Date.parse(endedAt) + days * DAY_MS).toISOString();
}

export class ReplayArchive implements HlsReplayKeeper {
  readonly #root: string;
  readonly #store: ProgrammeStore;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(root: string, store: ProgrammeStore, log: Logger) {
    this.#root = root;
    this.#store = store;
    this.#log = log;
    mkdirSync(root, { recursive: true });
  }

  get root(): string {
    return this.#root;
  }

  keeps(room: Room): boolean {
    return this.#store.get(room.id)?.details.replay.allowed === true;
  }

  async keep(room: Room, dir: string): Promise<void> {
    const record = this.#store.get(room.id);
    if (!record?.details.replay.allowed) throw new Error('this programme no longer allows a replay');
    const playlist = path.join(dir, 'index.m3u8');
    const text = await readFile(playlist, 'utf8');
    if (!text.includes('.ts')) throw new Error('the stream wrote no segment');
    await writeFile(playlist, finalisePlaylist(text));
    await rm(path.join(dir, 'input.sdp'), { force: true });
    const key = path.basename(dir);
    await rename(dir, path.join(this.#root, key));
    const previous = record.replay?.key;
    const endedAt = new Date().toISOString();
    this.#store.put({
      ...record,
      replay: {
        key,
        url: `${REPLAY_URL_PREFIX}/${key}/index.m3u8`,
        retainUntil: retainUntil(endedAt, record.details.replay.retentionDays),
      },
    });
    // One replay per programme: the latest run (a presenter who dropped and came back starts another).
    if (previous && previous !== key) await this.#remove(previous);
    this.#log.info({ room: room.id }, 'programme replay kept');
  }

  /** Deletes a programme's replay (retention passed, or the hospital withdrew it). */
  async discard(record: ProgrammeRecord): Promise<void> {
    if (!record.replay) return;
    const key = record.replay.key;
    this.#store.put({ ...record, replay: null });
    await this.#remove(key);
  }

  async purge(now = Date.now()): Promise<number> {
    const expired = this.#store.all().filter((r) => r.replay && Date.parse(r.replay.retainUntil) <= now);
    for (const record of expired) await this.discard(record);
    if (expired.length > 0) this.#log.info({ rooms: expired.map((r) => r.room) }, 'expired programme replays deleted');
    return expired.length;
  }

  /** Purges now and every hour until `close`. */
  start(): void {
    const purge = () => void this.purge().catch((err: unknown) => this.#log.warn({ err }, 'replay purge failed'));
    purge();
    this.#timer = setInterval(purge, PURGE_INTERVAL_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #remove(key: string): Promise<void> {
    await rm(path.join(this.#root, path.basename(key)), { recursive: true, force: true });
  }
}
