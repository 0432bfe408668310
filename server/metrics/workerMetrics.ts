/**
 * Each media worker's load, labelled by its index (one per core, so a handful of series): CPU time
 * and peak memory from mediasoup's `getResourceUsage` (the health check's own answers, not a second
 * request), and what it carries — routers, transports, producers, consumers.
 */
import type { Registry } from 'prom-client';
import type { WorkerLoad, WorkerPool } from '../media/WorkerPool.js';
import type { MediaObjectCounts } from '../media/mediaObjects.js';
import { ReadCounter, ReadGauge, type Series } from './readings.js';

type WorkerLabel = 'worker';

export function registerWorkerMetrics(registry: Registry, pool: WorkerPool): void {
  const each =
    <L extends string>(value: (load: WorkerLoad) => Series<L>[]): (() => Series<L>[]) =>
    () =>
      pool.loads().flatMap(value);
  const worker = (load: WorkerLoad) => ({ worker: String(load.index) });

  new ReadCounter(
    registry,
    {
      name: 'telemed_media_worker_cpu_seconds_total',
      help: 'CPU time a media worker process has used, user and system (as of its last health check).',
      labelNames: ['worker', 'mode'],
    },
    each((load) =>
      load.usage
        ? [
            [{ ...worker(load), mode: 'user' }, load.usage.ru_utime / 1000],
            [{ ...worker(load), mode: 'system' }, load.usage.ru_stime / 1000],
          ]
        : [],
    ),
  );
  new ReadGauge(
    registry,
    {
      name: 'telemed_media_worker_max_rss_bytes',
      help: 'Peak resident memory of a media worker process (as of its last health check).',
      labelNames: ['worker'],
    },
    // ru_maxrss is in kilobytes on Linux.
    each((load) => (load.usage ? [[worker(load), load.usage.ru_maxrss * 1024]] : [])),
  );
  const objects: [keyof MediaObjectCounts, string][] = [
    ['routers', 'Routers on a media worker (a room, or a broadcast’s viewer router).'],
    ['transports', 'WebRTC and pipe transports on a media worker.'],
    ['producers', 'Producers (tracks sent to the server) on a media worker.'],
    ['consumers', 'Consumers (tracks forwarded to a receiver) on a media worker.'],
  ];
  for (const [kind, help] of objects) {
    new ReadGauge<WorkerLabel>(
      registry,
      { name: `telemed_media_worker_${kind}`, help, labelNames: ['worker'] },
      each((load) => [[worker(load), load.objects[kind]]]),
    );
  }
}
