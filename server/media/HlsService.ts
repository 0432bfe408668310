/**
 * HLS output of broadcast rooms: one HlsStream per room at most, under an unguessable URL path,
 * stopped (and its segments deleted) when asked, when FFmpeg ends on its own, or when the room
 * closes. Every FFmpeg started here is owned by exactly one entry and stopped by `#cleanup`.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { wrongState } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { Participant } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import { HlsStream } from './HlsStream.js';

export const HLS_URL_PREFIX = '/hls';

/**
 * Who may keep a room's HLS output after it stops (a programme's replay): asked at start whether to
 * keep every segment, and handed the folder at the end instead of it being deleted.
 */
export interface HlsReplayKeeper {
  keeps(room: Room): boolean;
  /** Takes `dir` (moves it away); if this throws, the folder is deleted as usual. */
  keep(room: Room, dir: string): Promise<void>;
}

interface RunningStream {
  stream: HlsStream;
  key: string;
  /** Whether the folder goes to the replay keeper at the end. */
  kept: boolean;
  /** The room 'closed' listener of this stream, removed at cleanup so listeners do not pile up. */
  onRoomClosed: () => void;
}

/** For observers (event webhooks): a room's HLS output started, or stopped for whatever reason. */
interface HlsEvents {
  /** `by`: the moderator who asked; none when a programme's presenter going live started it. */
  started: [room: Room, url: string, by: Participant | undefined];
  /** `by`: the moderator who stopped it; none when FFmpeg ended, the room closed or the server stops. */
  stopped: [room: Room, by: Participant | undefined];
}

export class HlsService extends EventEmitter<HlsEvents> {
  readonly #root: string;
  readonly #log: Logger;
  readonly #streams = new Map<Room, RunningStream>();
  /**
   * Starts in flight, per room: a second moderator asking while FFmpeg is still starting gets the
   * same URL instead of a second FFmpeg (which the map above could not hold, so it would run forever).
   */
  readonly #starting = new Map<Room, Promise<string>>();

  readonly #keeper: HlsReplayKeeper | undefined;

  constructor(root: string, log: Logger, keeper?: HlsReplayKeeper) {
    super();
    this.#root = root;
    this.#log = log;
    this.#keeper = keeper;
  }

  /** The room's running stream's URL path, if one runs. */
  urlOf(room: Room): string | null {
    const running = this.#streams.get(room);
    return running ? this.#url(running.key) : null;
  }

  /** HLS streams running now (for metrics). */
  get streams(): number {
    return this.#streams.size;
  }

  /** Folder served under HLS_URL_PREFIX. */
  get root(): string {
    return this.#root;
  }

  /** `by`: the moderator who asked; none when a programme's presenter going live started it. */
  start(room: Room, by?: Participant): Promise<string> {
    const running = this.#streams.get(room);
    if (running) return Promise.resolve(this.#url(running.key));
    const pending = this.#starting.get(room);
    if (pending) return pending;
    const starting = this.#start(room, by).finally(() => this.#starting.delete(room));
    this.#starting.set(room, starting);
    return starting;
  }

  async stop(room: Room, by: Participant): Promise<void> {
    // A stop that arrives while the start is under way applies to the stream being started.
    await this.#starting.get(room)?.catch(() => undefined);
    if (!this.#streams.has(room)) throw wrongState('HLS output is not running');
    await this.#cleanup(room, by);
  }

  async closeAll(): Promise<void> {
    // Wait for starts in flight too: one finishing after this would leave FFmpeg running at shutdown.
    await Promise.all([...this.#starting.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.#streams.keys()].map((room) => this.#cleanup(room)));
  }

  async #start(room: Room, by?: Participant): Promise<string> {
    if (room.closed) throw wrongState('this room has closed');
    const key = `${room.id}-${randomBytes(12).toString('hex')}`;
    const dir = path.join(this.#root, key);
    let stream: HlsStream;
    const kept = this.#keeper?.keeps(room) ?? false;
    try {
      // Not the key: it is the stream's only access control, and logs are read more widely than that.
      stream = await HlsStream.start(room, dir, this.#log.child({ room: room.id }), { keepAll: kept });
    } catch (error) {
      await rm(dir, { recursive: true, force: true }); // the SDP, perhaps a first segment
      throw error;
    }
    // The room may have closed while FFmpeg started: its 'closed' event is gone, so nobody else
    // would ever stop this stream.
    if (room.closed) {
      await stream.stop();
      await rm(dir, { recursive: true, force: true });
      throw wrongState('this room closed while HLS output was starting');
    }
    const onRoomClosed = (): void => void this.#cleanup(room);
    this.#streams.set(room, { stream, key, kept, onRoomClosed });
    room.once('closed', onRoomClosed);
    stream.once('ended', () => void this.#cleanup(room));
    const url = this.#url(key);
    room.setHlsOutput(url, by);
    this.emit('started', room, url, by);
    return url;
  }

  #url(key: string): string {
    return `${HLS_URL_PREFIX}/${key}/index.m3u8`;
  }

  /** `by`: the moderator who stopped it; none when FFmpeg ended or the room closed. */
  async #cleanup(room: Room, by?: Participant): Promise<void> {
    const entry = this.#streams.get(room);
    if (!entry) return;
    this.#streams.delete(room);
    room.off('closed', entry.onRoomClosed);
    await entry.stream.stop();
    const dir = path.join(this.#root, entry.key);
    if (entry.kept && this.#keeper)
      await this.#keeper.keep(room, dir).catch((err: unknown) => this.#log.warn({ err, room: room.id }, 'HLS replay could not be kept'));
    // Otherwise segments are for live viewing only; the regulated record is the per-track recording.
    await rm(dir, { recursive: true, force: true });
    room.setHlsOutput(null, by);
    this.emit('stopped', room, by);
  }
}
