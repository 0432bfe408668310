/**
 * Audience fan-out for broadcasts and training: presenters publish on the room's origin router;
 * viewers are placed on viewer routers spread over every worker (one core each), each taking viewers
 * until it carries `capacity` consumers; the presenters' producers are piped (`pipeToRouter`) to each
 * viewer router. The audience thus grows with the cores instead of saturating one. Never two routers
 * of a room on one worker: once every worker has one, routers take viewers beyond `capacity`.
 *
 * A viewer router that closes (its worker died) is forgotten at once: its pipes from the origin are
 * closed and `routerClosed` tells the room, which drops the seats on it so those viewers are placed
 * anew when they next ask where to receive.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import { MEDIA_CODECS } from '../media/codecs.js';
import type { MediaWorker, WorkerPool } from '../media/WorkerPool.js';

/** Where a participant's media lives: a router and its worker's single-port WebRtcServer. */
export interface MediaHome {
  router: types.Router;
  webRtcServer: types.WebRtcServer;
  workerIndex: number;
}

/** A viewer's seat on a viewer router, with how many consumers it was expected to bring. */
export interface Placement {
  home: MediaHome;
  expected: number;
  consumed: number;
}

interface ViewerRouter extends MediaHome {
  /** Consumers on this router plus the ones expected from viewers placed but not yet consuming. */
  consumers: number;
  pending: number;
  /** Origin producer id → promise of its id in this router. */
  piped: Map<string, Promise<string>>;
  /** The origin side of each pipe into this router, closed with it. */
  pipeConsumers: Set<types.Consumer>;
  closed: boolean;
}

interface FanOutEvents {
  /** A viewer router closed (its worker died, or the room closes): seats on it are gone. */
  routerClosed: [router: types.Router];
}

export class FanOut extends EventEmitter<FanOutEvents> {
  readonly #origin: ViewerRouter;
  readonly #routers: ViewerRouter[];
  readonly #pool: WorkerPool;
  readonly #capacity: number;
  readonly #log: Logger;
  #creating: Promise<ViewerRouter> | undefined;
  #closed = false;

  constructor(origin: MediaHome, pool: WorkerPool, capacity: number, log: Logger) {
    super();
    this.#origin = { ...origin, consumers: 0, pending: 0, piped: new Map(), pipeConsumers: new Set(), closed: false };
    this.#routers = [this.#origin];
    this.#pool = pool;
    this.#capacity = capacity;
    this.#log = log;
  }

  /** Viewer routers with their worker and load, for tests and metrics. */
  describe(): { routerId: string; workerIndex: number; consumers: number }[] {
    return this.#routers.map((r) => ({ routerId: r.router.id, workerIndex: r.workerIndex, consumers: r.consumers }));
  }

  /**
   * Places a viewer who will consume about `expectedConsumers` tracks: on the first router with room
   * for them, else on a new router on the least-loaded worker not yet serving this room.
   */
  async place(expectedConsumers: number): Promise<Placement> {
    // A viewer who would take more than a whole router gets a whole router: otherwise none would
    // ever fit and routers would be opened without end.
    const need = Math.min(this.#capacity, Math.max(1, expectedConsumers));
    const fits = (r: ViewerRouter): boolean => !r.router.closed && r.consumers + r.pending + need <= this.#capacity;
    let home = this.#routers.find(fits);
    // One router is created at a time, so a burst of joins fills it instead of opening many.
    while (!home) {
      if (!this.#creating && !this.#pool.hasLive((w) => !this.#routers.some((r) => !r.router.closed && r.workerIndex === w.index))) {
        // Every core already carries a router of this room: another router on one of them would add a
        // pipe hop (copying every packet once more) and no core. The cap is a spreading rule, not a
        // limit of mediasoup's: the least-loaded router takes the viewer beyond it.
        home = this.#leastLoadedRouter();
        if (home) break;
      }
      this.#creating ??= this.#addRouter().finally(() => (this.#creating = undefined));
      const fresh = await this.#creating;
      home = fits(fresh) ? fresh : this.#routers.find(fits);
    }
    home.pending += need;
    return { home, expected: need, consumed: 0 };
  }

  /** Counts a consumer against its router's capacity for as long as it lives. */
  track(placement: Placement, consumer: types.Consumer): void {
    const r = this.#find(placement.home.router);
    if (!r) return;
    r.consumers++;
    if (placement.consumed++ < placement.expected) r.pending = Math.max(0, r.pending - 1);
    consumer.observer.once('close', () => r.consumers--);
  }

  /** The viewer left: forget the consumers it was expected to make but never did. */
  release(placement: Placement): void {
    const r = this.#find(placement.home.router);
    if (r) r.pending = Math.max(0, r.pending - Math.max(0, placement.expected - placement.consumed));
    placement.consumed = placement.expected;
  }

  /** The id under which `producerId` (on the origin) can be consumed on `router`, piping it there first. */
  async localProducerId(router: types.Router, producerId: string): Promise<string> {
    const target = this.#find(router);
    if (!target || target === this.#origin) return producerId;
    let piping = target.piped.get(producerId);
    if (!piping) {
      // New ids on every viewer router: two viewer routers may share a worker, and one worker cannot
      // hold the same producer id twice. The room maps origin ids to local ones (this map).
      piping = this.#origin.router
        .pipeToRouter({ producerId, router: target.router, keepId: false })
        .then(({ pipeConsumer, pipeProducer }) => {
          if (pipeConsumer) {
            // A pipe finished after its router closed feeds no one: close it now.
            if (target.closed) pipeConsumer.close();
            else target.pipeConsumers.add(pipeConsumer);
          }
          if (!pipeProducer) throw new Error('pipeToRouter returned no producer');
          if (target.closed) throw new Error('the viewer router closed');
          return pipeProducer.id;
        });
      target.piped.set(producerId, piping);
      piping.catch(() => target.piped.delete(producerId));
    }
    return piping;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A copy: each router's close event removes it from the list being walked.
    for (const r of [...this.#routers]) if (r !== this.#origin) r.router.close();
  }

  /** A viewer router closed: no seat, pipe or count of it stays behind. */
  #forget(entry: ViewerRouter): void {
    entry.closed = true;
    const i = this.#routers.indexOf(entry);
    if (i >= 0) this.#routers.splice(i, 1);
    // mediasoup also closes a pipe pair when the other side's transport closes; closing the origin's
    // side here does not depend on that (closing twice is harmless).
    for (const c of entry.pipeConsumers) c.close();
    entry.pipeConsumers.clear();
    entry.piped.clear();
    if (!this.#closed)
      this.#log.warn({ worker: entry.workerIndex, routers: this.#routers.length }, 'viewer router closed; its viewers will be placed anew');
    this.emit('routerClosed', entry.router);
  }

  #leastLoadedRouter(): ViewerRouter | undefined {
    let best: ViewerRouter | undefined;
    for (const r of this.#routers) if (!r.router.closed && (!best || r.consumers + r.pending < best.consumers + best.pending)) best = r;
    return best;
  }

  #find(router: types.Router): ViewerRouter | undefined {
    return this.#routers.find((r) => r.router === router);
  }

  async #addRouter(): Promise<ViewerRouter> {
    const used = new Set(this.#routers.map((r) => r.workerIndex));
    const { router, host } = await this.#pool.createRouter(MEDIA_CODECS, (w: MediaWorker) => !used.has(w.index));
    if (this.#closed) {
      router.close();
      throw new Error('room closed');
    }
    const entry: ViewerRouter = {
      router,
      webRtcServer: host.webRtcServer,
      workerIndex: host.index,
      consumers: 0,
      pending: 0,
      piped: new Map(),
      pipeConsumers: new Set(),
      closed: false,
    };
    this.#routers.push(entry);
    router.observer.once('close', () => this.#forget(entry));
    this.#log.info({ worker: host.index, routers: this.#routers.length }, 'viewer router added');
    return entry;
  }
}
