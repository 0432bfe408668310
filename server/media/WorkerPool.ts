/**
 * One mediasoup worker per core, each with a WebRtcServer so that all media of that worker uses one
 * known port (UDP and TCP alike): hospital firewalls open a short, fixed range instead of thousands.
 * A worker that dies is replaced on the same port; the rooms it carried close (their routers die
 * with it) and their participants are told.
 *
 * A worker that hangs (stopped, deadlocked, its event loop stuck) does not die, so nothing above
 * would notice it: every request to it waits forever. Each worker is therefore pinged (a request
 * only its event loop can answer); one that does not answer within the timeout is killed (SIGKILL)
 * and goes through the same replacement as a worker that died.
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { countMediaObjects, type MediaObjectCounts } from './mediaObjects.js';

export interface WorkerHealthOptions {
  /** Pause between the answer to one ping and the next ping. */
  pingIntervalMs: number;
  /** A worker that has not answered a ping by then is hung: killed and replaced. Half of it makes it "late". */
  pingTimeoutMs: number;
  /** Restarts tried for a worker before the pool gives that core up (loudly). */
  restartAttempts: number;
}

export interface WorkerPoolOptions {
  workers: number;
  listenIp: string;
  announcedAddress: string | undefined;
  /** Worker i listens on port + i. */
  port: number;
  logLevel: types.WorkerLogLevel;
  health: WorkerHealthOptions;
}

export interface MediaWorker {
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  /** Routers currently placed here: the load measure used to place the next room. */
  routers: number;
}

/** What happened to the workers since start, for /metrics. */
export interface WorkerPoolCounters {
  /** Workers that died on their own (crash, OOM kill, someone's SIGKILL). */
  died: number;
  /** Workers killed by the pool because they stopped answering pings. */
  hungKilled: number;
  /** Restart attempts that failed. */
  restartFailures: number;
}

interface WorkerPoolEvents {
  workerDied: [index: number, error: Error];
  workerHung: [index: number, pid: number, silentMs: number];
  workerReplaced: [index: number];
  workerGaveUp: [index: number, error: unknown];
}

/** One running worker's load, for /metrics. */
export interface WorkerLoad {
  index: number;
  /** What its last health check answered (CPU times, peak memory); undefined before the first answer. */
  usage: types.WorkerResourceUsage | undefined;
  /** Routers, transports, producers and consumers on it now. */
  objects: Readonly<MediaObjectCounts>;
}

/** One core as the operators' view shows it: its worker (answering its health checks or late), or why none runs. */
export type WorkerSlotState =
  | { index: number; state: 'running'; host: MediaWorker; silentMs: number; late: boolean; objects: Readonly<MediaObjectCounts> }
  | { index: number; state: 'restarting' | 'failed'; reason: string };

/** A slot is a core: its worker runs, is being restarted, or could not be restarted. */
type Slot =
  | { state: 'running'; host: MediaWorker; heartbeat: Heartbeat; objects: Readonly<MediaObjectCounts> }
  | { state: 'restarting'; reason: string }
  | { state: 'failed'; reason: string };

export const NO_WORKER_MESSAGE = 'no media worker available right now; retry shortly';

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #slots: Slot[];
  /** Workers the pool killed itself, so their death is reported as a hang, not a crash. */
  readonly #killedAsHung = new WeakSet<types.Worker>();
  readonly #counters: WorkerPoolCounters = { died: 0, hungKilled: 0, restartFailures: 0 };
  #closed = false;

  private constructor(options: WorkerPoolOptions, log: Logger) {
    super();
    this.#options = options;
    this.#log = log;
    this.#slots = Array.from({ length: options.workers }, (): Slot => ({ state: 'restarting', reason: 'starting' }));
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

  /** Live workers (running, answering or not). */
  get workers(): MediaWorker[] {
    return this.#slots.flatMap((s) => (s.state === 'running' ? [s.host] : []));
  }

  get size(): number {
    return this.workers.length;
  }

  get counters(): Readonly<WorkerPoolCounters> {
    return { ...this.#counters };
  }

  /** Each running worker's load (no request to the workers: the health checks' answers are reused). */
  loads(): WorkerLoad[] {
    return this.#slots.flatMap((s) =>
      s.state === 'running' ? [{ index: s.host.index, usage: s.heartbeat.usage, objects: s.objects }] : [],
    );
  }

  get healthy(): boolean {
    return this.problems().length === 0;
  }

  /**
   * Why the pool cannot serve as configured right now, one sentence per problem (empty: all is well):
   * a worker that is late answering its ping, one being restarted, one given up, none running at all.
   */
  problems(now = Date.now()): string[] {
    if (this.#closed) return ['the media worker pool is closed'];
    const problems: string[] = [];
    this.#slots.forEach((slot, index) => {
      if (slot.state === 'running') {
        const silent = slot.heartbeat.silentFor(now);
        if (this.#isLate(silent))
          problems.push(`media worker ${index} (pid ${slot.host.worker.pid}) has not answered a health check for ${silent} ms`);
      } else if (slot.state === 'restarting') {
        problems.push(`media worker ${index} is being restarted (${slot.reason})`);
      } else {
        problems.push(`media worker ${index} could not be restarted and was given up (${slot.reason}); restart the server`);
      }
    });
    if (this.size === 0) problems.unshift('no media worker is running');
    return problems;
  }

  /** Every core, in order: what runs there now (the admin API's worker state). */
  slots(now = Date.now()): WorkerSlotState[] {
    return this.#slots.map((slot, index): WorkerSlotState => {
      if (slot.state !== 'running') return { index, state: slot.state, reason: slot.reason };
      const silentMs = slot.heartbeat.silentFor(now);
      return { index, state: 'running', host: slot.host, silentMs, late: this.#isLate(silentMs), objects: slot.objects };
    });
  }

  /**
   * The live, responsive worker carrying the fewest routers, among `among` when any of those
   * qualifies. A worker late answering its ping gets no new room: it may be hung.
   */
  leastLoaded(among?: (w: MediaWorker) => boolean): MediaWorker {
    const live = this.#live();
    const candidates = among && live.some(among) ? live.filter(among) : live;
    let best: MediaWorker | undefined;
    for (const slot of candidates) if (!best || slot.routers < best.routers) best = slot;
    if (!best) throw new ProtocolError('UNAVAILABLE', NO_WORKER_MESSAGE);
    return best;
  }

  /** Whether a live, responsive worker satisfies `among` (e.g. one that serves this room nowhere yet). */
  hasLive(among: (w: MediaWorker) => boolean): boolean {
    return this.#live().some(among);
  }

  #live(now = Date.now()): MediaWorker[] {
    return this.#slots.flatMap((s) => (s.state === 'running' && !this.#isLate(s.heartbeat.silentFor(now)) ? [s.host] : []));
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
      // The worker died (or was killed as hung) under the request: a fault of the moment, not of the client.
      if (host.worker.closed) throw new ProtocolError('UNAVAILABLE', 'the media worker stopped while opening the room; retry shortly');
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      if (slot.state !== 'running') continue;
      slot.heartbeat.stop();
      slot.host.worker.close();
    }
  }

  #isLate(silentMs: number): boolean {
    return silentMs > this.#options.health.pingTimeoutMs / 2;
  }

  async #start(index: number): Promise<void> {
    const { listenIp, announcedAddress, port, logLevel, health } = this.#options;
    const worker = await withoutSignalHandlers(() =>
      mediasoup.createWorker({ logLevel, logTags: ['ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'bwe'] }),
    );
    const objects = countMediaObjects(worker);
    try {
      const listenInfo = { ip: listenIp, announcedAddress, port: port + index };
      const webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { ...listenInfo, protocol: 'udp' },
          { ...listenInfo, protocol: 'tcp' },
        ],
      });
      if (this.#closed) throw new Error('the worker pool closed while a worker was starting');
      const heartbeat = new Heartbeat(worker, health, (silentMs) => this.#onHung(index, worker, silentMs));
      this.#slots[index] = { state: 'running', host: { index, worker, webRtcServer, routers: 0 }, heartbeat, objects };
      worker.on('died', (error) => this.#onDied(index, worker, error));
      this.#log.info({ worker: index, pid: worker.pid, port: port + index }, 'media worker started');
    } catch (error) {
      worker.close();
      throw error;
    }
  }

  /** The worker did not answer its ping in time: kill it, so that it dies and is replaced like any dead worker. */
  #onHung(index: number, worker: types.Worker, silentMs: number): void {
    const slot = this.#slots[index];
    if (this.#closed || slot?.state !== 'running' || slot.host.worker !== worker) return;
    this.#counters.hungKilled++;
    this.#killedAsHung.add(worker);
    this.#log.error(
      { worker: index, pid: worker.pid, silentMs, pingTimeoutMs: this.#options.health.pingTimeoutMs, rooms: slot.host.routers },
      `media worker ${index} (pid ${worker.pid}) did not answer a health check for ${silentMs} ms: killing it (SIGKILL); its rooms close`,
    );
    this.emit('workerHung', index, worker.pid, silentMs);
    try {
      process.kill(worker.pid, 'SIGKILL');
    } catch (error) {
      // Already gone (ESRCH): its 'died' is on the way. Anything else leaves a hung process we cannot
      // remove: close our side, which fails its requests and frees its slot for a replacement.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.#log.error({ worker: index, pid: worker.pid, err: error }, 'could not kill the hung media worker');
        worker.close();
        this.#onDied(index, worker, new Error('hung and could not be killed'));
      }
    }
  }

  #onDied(index: number, worker: types.Worker, error: Error): void {
    const slot = this.#slots[index];
    if (slot?.state !== 'running' || slot.host.worker !== worker) return;
    slot.heartbeat.stop();
    const hung = this.#killedAsHung.has(worker);
    if (!hung) this.#counters.died++;
    const reason = hung ? `pid ${worker.pid} stopped answering health checks and was killed` : `pid ${worker.pid} died: ${error.message}`;
    this.#slots[index] = { state: 'restarting', reason };
    this.#log.error({ worker: index, pid: worker.pid, err: error, hung }, `media worker ${index} ${reason}; replacing it`);
    this.emit('workerDied', index, error);
    if (this.#closed) return;
    this.#restart(index, reason, 1);
  }

  /** The dead worker's port is free again once its process is gone; retry with a growing pause if not yet. */
  #restart(index: number, reason: string, attempt: number): void {
    if (this.#closed) return;
    this.#start(index).then(
      () => {
        this.#log.info({ worker: index, attempt }, `media worker ${index} replaced`);
        this.emit('workerReplaced', index);
      },
      (err: unknown) => {
        this.#counters.restartFailures++;
        const attempts = this.#options.health.restartAttempts;
        if (this.#closed) return;
        if (attempt < attempts) {
          this.#log.error({ worker: index, err, attempt, attempts }, `could not restart media worker ${index}; retrying`);
          this.#slots[index] = { state: 'restarting', reason: `${reason}; restart ${attempt} of ${attempts} failed` };
          setTimeout(() => this.#restart(index, reason, attempt + 1), 1000 * attempt).unref();
          return;
        }
        this.#giveUp(index, err, attempts);
      },
    );
  }

  #giveUp(index: number, err: unknown, attempts: number): void {
    const cause = err instanceof Error ? err.message : String(err);
    this.#slots[index] = { state: 'failed', reason: `${attempts} restarts failed, the last with: ${cause}` };
    const left = this.size;
    this.#log.error(
      { worker: index, err, attempts, workersLeft: left, port: this.#options.port + index },
      `GAVE UP on media worker ${index} after ${attempts} failed restarts: this core carries no media until the server is restarted` +
        (left === 0 ? '; NO media worker is running: every join is refused' : `; ${left} worker(s) left`),
    );
    this.emit('workerGaveUp', index, err);
  }
}

/**
 * Asks one worker, again and again, for its resource usage: a request that goes through the worker's
 * event loop, so it is answered only if the worker is alive and not stuck. The next ping goes out an
 * interval after the previous answer, so pings never pile up on a slow worker.
 */
class Heartbeat {
  readonly #worker: types.Worker;
  readonly #options: WorkerHealthOptions;
  readonly #onHung: (silentMs: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #waitingSince: number | undefined;
  #stopped = false;
  #usage: types.WorkerResourceUsage | undefined;

  constructor(worker: types.Worker, options: WorkerHealthOptions, onHung: (silentMs: number) => void) {
    this.#worker = worker;
    this.#options = options;
    this.#onHung = onHung;
    this.#schedule();
  }

  /** The last answer: the worker's CPU times and peak memory (for /metrics). */
  get usage(): types.WorkerResourceUsage | undefined {
    return this.#usage;
  }

  /** How long the ping now out has gone unanswered; 0 when none is out. */
  silentFor(now = Date.now()): number {
    return this.#waitingSince === undefined ? 0 : now - this.#waitingSince;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#waitingSince = undefined;
    this.#timer = setTimeout(() => this.#ping(), this.#options.pingIntervalMs).unref();
  }

  #ping(): void {
    const sentAt = Date.now();
    this.#waitingSince = sentAt;
    this.#timer = setTimeout(() => this.#expire(sentAt), this.#options.pingTimeoutMs).unref();
    this.#worker.getResourceUsage().then(
      (usage) => {
        if (this.#stopped || this.#waitingSince !== sentAt) return;
        this.#usage = usage;
        clearTimeout(this.#timer);
        this.#schedule();
      },
      // Closed or died: the pool's 'died' handling takes it from here.
      () => this.stop(),
    );
  }

  #expire(sentAt: number): void {
    // Our own event loop may have been the slow one (a long synchronous task): let the I/O that
    // arrived meanwhile — perhaps the answer — be read before calling the worker hung.
    setImmediate(() => {
      if (this.#stopped || this.#waitingSince !== sentAt) return;
      this.stop();
      this.#onHung(Date.now() - sentAt);
    });
  }
}

/**
 * mediasoup (3.2x) closes each worker by itself on SIGTERM/SIGINT. Our shutdown must finish every
 * recording first (files ended, hashed, archived) and close the workers last, so the handlers it
 * adds while creating a worker are taken off again; the process's own handlers (server/main.ts) stay.
 */
async function withoutSignalHandlers<T>(create: () => Promise<T>): Promise<T> {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await create();
  } finally {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
}
