/**
 * HLS output of broadcast rooms: one HlsStream per room at most, under an unguessable URL path,
 * stopped (and its segments deleted) when asked or when the room closes.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { wrongState } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { Participant } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import { HlsStream } from './HlsStream.js';

export const HLS_URL_PREFIX = '/hls';

export class HlsService {
  readonly #root: string;
  readonly #log: Logger;
  readonly #streams = new Map<Room, { stream: HlsStream; key: string }>();

  constructor(root: string, log: Logger) {
    this.#root = root;
    this.#log = log;
  }

  /** Folder served under HLS_URL_PREFIX. */
  get root(): string {
    return this.#root;
  }

  async start(room: Room, by: Participant): Promise<string> {
    const running = this.#streams.get(room);
    if (running) return this.#url(running.key);
    const key = `${room.id}-${randomBytes(12).toString('hex')}`;
    const dir = path.join(this.#root, key);
    const stream = await HlsStream.start(room, dir, this.#log.child({ room: room.id, hls: key }));
    this.#streams.set(room, { stream, key });
    const url = this.#url(key);
    room.hlsUrl = url;
    room.notifyOthers(null, 'hlsChanged', { url });
    room.audit('hls_started', by, undefined, { url });
    stream.once('ended', () => void this.#cleanup(room));
    room.once('closed', () => void this.#cleanup(room));
    return url;
  }

  async stop(room: Room, by: Participant): Promise<void> {
    if (!this.#streams.has(room)) throw wrongState('HLS output is not running');
    room.audit('hls_stopped', by);
    await this.#cleanup(room);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#streams.keys()].map((room) => this.#cleanup(room)));
  }

  #url(key: string): string {
    return `${HLS_URL_PREFIX}/${key}/index.m3u8`;
  }

  async #cleanup(room: Room): Promise<void> {
    const entry = this.#streams.get(room);
    if (!entry) return;
    this.#streams.delete(room);
    await entry.stream.stop();
    // Segments are for live viewing only; the regulated record is the per-track recording.
    await rm(path.join(this.#root, entry.key), { recursive: true, force: true });
    if (!room.closed) {
      room.hlsUrl = null;
      room.notifyOthers(null, 'hlsChanged', { url: null });
    }
  }
}
