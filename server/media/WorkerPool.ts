/**
 * One mediasoup worker per core, each with a WebRtcServer so that all media of that worker uses one
 * known port (UDP and TCP alike): hospital firewalls open a short, fixed range instead of thousands.
 * A worker that dies is replaced on the same port; the rooms it carried close (their routers die
 * with it) and their participants are told.
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';

export interface WorkerPoolOptions {
  workers: number;
  listenIp: string;
  announcedAddress: string | undefined;
  /** Worker i listens on port + i. */
  port: number;
  logLevel: types.WorkerLogLevel;
}

export interface MediaWorker {
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  /** Routers currently placed here: the load measure used to place the next room. */
  routers: number;
}

interface WorkerPoolEvents {
  workerDied: [index: number, error: Error];
  workerReplaced: [index: number];
}

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #slots: (MediaWorker | undefined)[];
  #closed = false;

  private constructor(options: WorkerPoolOptions, log: Logger) {
    super();
    this.#options = options;
    this.#log = log;
    this.#slots = new Array<MediaWorker | undefined>(options.workers).fill(undefined);
  }

  static async create(options: WorkerPoolOptions, log: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(options, log);
    try {
      for (let i = 0; i < options.workers; i++) await pool.#start(i);
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.#slots.filter(Boolean).length;
  }

  get healthy(): boolean {
    return !this.#closed && this.size === this.#options.workers;
  }

  /** The live worker carrying the fewest routers, among `among` when any of those is alive. */
  leastLoaded(among?: (w: MediaWorker) => boolean): MediaWorker {
    let best: MediaWorker | undefined;
    const live = this.#slots.filter((s): s is MediaWorker => !!s);
    const candidates = among && live.some(among) ? live.filter(among) : live;
    for (const slot of candidates) if (!best || slot.routers < best.routers) best = slot;
    if (!best) throw new Error('no media worker is running');
    return best;
  }

  /** A router on the least-loaded worker; `prefer` narrows the choice when it can (e.g. unused cores). */
  async createRouter(
    codecs: types.RouterRtpCodecCapability[],
    prefer?: (w: MediaWorker) => boolean,
  ): Promise<{ router: types.Router; host: MediaWorker }> {
    const host = this.leastLoaded(prefer);
    // Counted before the await, so rooms opened at the same instant spread over the workers.
    host.routers++;
    try {
      const router = await host.worker.createRouter({ mediaCodecs: codecs });
      router.observer.once('close', () => host.routers--);
      return { router, host };
    } catch (error) {
      host.routers--;
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) slot?.worker.close();
    this.#slots.fill(undefined);
  }

  async #start(index: number): Promise<void> {
    const { listenIp, announcedAddress, port, logLevel } = this.#options;
    const worker = await mediasoup.createWorker({ logLevel, logTags: ['ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'bwe'] });
    try {
      const listenInfo = { ip: listenIp, announcedAddress, port: port + index };
      const webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { ...listenInfo, protocol: 'udp' },
          { ...listenInfo, protocol: 'tcp' },
        ],
      });
      this.#slots[index] = { index, worker, webRtcServer, routers: 0 };
      worker.on('died', (error) => this.#onDied(index, worker, error));
      this.#log.info({ worker: index, pid: worker.pid, port: port + index }, 'media worker started');
    } catch (error) {
      worker.close();
      throw error;
    }
  }

  #onDied(index: number, worker: types.Worker, error: Error): void {
    if (this.#slots[index]?.worker !== worker) return;
    this.#slots[index] = undefined;
    this.#log.error({ worker: index, pid: worker.pid, err: error }, 'media worker died; replacing it');
    this.emit('workerDied', index, error);
    if (this.#closed) return;
    // The dead worker's port is free again once its process is gone; retry briefly if not yet.
    const retry = (attempt: number): void => {
      this.#start(index).then(
        () => this.emit('workerReplaced', index),
        (err: unknown) => {
          this.#log.error({ worker: index, err, attempt }, 'could not restart media worker');
          if (attempt < 5 && !this.#closed) setTimeout(() => retry(attempt + 1), 1000 * attempt).unref();
        },
      );
    };
    retry(1);
  }
}
