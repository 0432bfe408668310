/**
 * How much each media worker carries: routers, transports, producers and consumers, counted from
 * mediasoup's observer events as they are created and closed (mediasoup keeps these sets private,
 * and asking a busy worker to dump them on every look would load it more). A worker that replaces a
 * dead one is watched from its start.
 */
import type { types } from 'mediasoup';
import type { WorkerPool } from './WorkerPool.js';

export interface WorkerCounts {
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

const zero = (): WorkerCounts => ({ routers: 0, transports: 0, producers: 0, consumers: 0 });

export class WorkerCensus {
  readonly #counts = new WeakMap<types.Worker, WorkerCounts>();

  /** Watches the pool's workers now and every replacement after; create it before any room opens. */
  constructor(pool: WorkerPool) {
    for (const host of pool.workers) this.#watch(host.worker);
    pool.on('workerReplaced', (index) => {
      const host = pool.workers.find((w) => w.index === index);
      if (host) this.#watch(host.worker);
    });
  }

  /** What `worker` carries now (zeros for a worker this census never saw). */
  countsOf(worker: types.Worker): WorkerCounts {
    return { ...(this.#counts.get(worker) ?? zero()) };
  }

  #watch(worker: types.Worker): void {
    if (this.#counts.has(worker)) return;
    const counts = zero();
    this.#counts.set(worker, counts);
    // Each object's own 'close' fires also when its parent closes (mediasoup cascades), so counts
    // return to zero however a room ends.
    const track = (kind: keyof WorkerCounts, observer: { once(event: 'close', fn: () => void): unknown }) => {
      counts[kind]++;
      observer.once('close', () => counts[kind]--);
    };
    worker.observer.on('newrouter', (router) => {
      track('routers', router.observer);
      router.observer.on('newtransport', (transport) => {
        track('transports', transport.observer);
        transport.observer.on('newproducer', (producer) => track('producers', producer.observer));
        transport.observer.on('newconsumer', (consumer) => track('consumers', consumer.observer));
      });
    });
  }
}
