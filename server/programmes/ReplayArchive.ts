/**
 * Replays of programmes whose hospital allows them: when a programme's HLS output stops, its folder
 * (every segment, kept by an EVENT playlist) is finalised as video-on-demand (`#EXT-X-PLAYLIST-TYPE:
 * VOD`, `#EXT-X-ENDLIST`) and moved under `DATA_DIR/replays`, served under an unguessable name until
 * its retention date, then deleted (checked at start and every hour). Clustered, a replay stays on the
 * node that served the broadcast, its URL starting with that node's route; a folder no programme names
 * any more (withdrawn or expired through another node) is deleted here as soon as this node hears of it.
 */
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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
  /** How a page reached through any node must ask for a path this node serves (see ProgrammeService). */
  readonly #publicUrl: (servedPath: string) => string;
  readonly #named: Promise<void>;
  /**
   * Folders moved in whose programme does not name them yet: not orphans. `recordLater`: the store
   * refused (Redis away); named at the next purge or change heard, as if just kept.
   */
  readonly #unnamed = new Map<string, { room: string; endedAt: string; recordLater: boolean }>();
  #timer: NodeJS.Timeout | undefined;

  /**
   * `named`: resolves once every programme that may name a folder here is known (by default, once the
   * store has read what it kept; clustered, once this node's own programmes are in Redis too).
   */
  constructor(
    root: string,
    store: ProgrammeStore,
    log: Logger,
    publicUrl: (servedPath: string) => string = (p) => p,
    named: Promise<void> = store.ready,
  ) {
    this.#root = root;
    this.#store = store;
    this.#log = log;
    this.#publicUrl = publicUrl;
    this.#named = named;
    store.onChanged(() => void this.#removeOrphans().catch((err: unknown) => log.warn({ err }, 'replay clean-up failed')));
    mkdirSync(root, { recursive: true });
  }

  get root(): string {
    return this.#root;
  }

  /** The URL a page asks for the replay kept in folder `key` (clustered: under this node's route). */
  urlOf(key: string): string {
    return this.#publicUrl(`${REPLAY_URL_PREFIX}/${key}/index.m3u8`);
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
    this.#unnamed.set(key, { room: room.id, endedAt: new Date().toISOString(), recordLater: false });
    try {
      await rename(dir, path.join(this.#root, key));
    } catch (error) {
      this.#unnamed.delete(key);
      throw error;
    }
    await this.#name(key);
  }

  /** Names the kept folder `key` in its programme (the one replay it has: the latest run's). */
  async #name(key: string): Promise<void> {
    const unnamed = this.#unnamed.get(key);
    if (!unnamed) return;
    let previous: string | undefined;
    let kept: ProgrammeRecord | undefined;
    try {
      // On the programme as it is when written: withdrawn meanwhile (perhaps through another node), nothing is kept.
      kept = await this.#store.change(unnamed.room, (current) => {
        if (!current?.details.replay.allowed) return undefined;
        previous = current.replay?.key;
        return {
          ...current,
          replay: { key, url: this.urlOf(key), retainUntil: retainUntil(unnamed.endedAt, current.details.replay.retentionDays) },
        };
      });
    } catch (error) {
      unnamed.recordLater = true;
      throw error;
    }
    this.#unnamed.delete(key);
    if (kept?.replay?.key !== key) {
      await this.#remove(key);
      throw new Error('this programme no longer allows a replay');
    }
    // One replay per programme: the latest run (a presenter who dropped and came back starts another).
    if (previous && previous !== key) await this.#remove(previous);
    this.#log.info({ room: unnamed.room }, 'programme replay kept');
  }

  /** Deletes a programme's replay (retention passed, or the hospital withdrew it). */
  async discard(record: ProgrammeRecord): Promise<void> {
    if (!record.replay) return;
    const key = record.replay.key;
    // Unless a newer run's replay has replaced it meanwhile: that one stays.
    await this.#store.change(record.room, (current) => (current?.replay?.key === key ? { ...current, replay: null } : undefined));
    await this.#remove(key);
  }

  async purge(now = Date.now()): Promise<number> {
    const expired = this.#store.all().filter((r) => r.replay && Date.parse(r.replay.retainUntil) <= now);
    for (const record of expired) await this.discard(record);
    if (expired.length > 0) this.#log.info({ rooms: expired.map((r) => r.room) }, 'expired programme replays deleted');
    await this.#removeOrphans();
    return expired.length;
  }

  /** Deletes the replay folders here that no programme names (a withdrawal or purge done elsewhere, a failed keep). */
  async #removeOrphans(): Promise<void> {
    await this.#named; // before the programmes are known, every folder would look orphaned
    for (const [key, { recordLater }] of this.#unnamed) if (recordLater) await this.#name(key).catch(() => undefined);
    const named = new Set(this.#store.all().flatMap((r) => (r.replay ? [r.replay.key] : [])));
    const orphans = (await readdir(this.#root)).filter((name) => !named.has(name) && !this.#unnamed.has(name));
    for (const name of orphans) await this.#remove(name);
    if (orphans.length > 0) this.#log.info({ folders: orphans.length }, 'replays no programme names any more deleted');
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
