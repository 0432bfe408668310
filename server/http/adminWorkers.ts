/**
 * The operators' view of this node's media workers (`GET /admin/workers`, behind the admin token):
 * per core, the worker's pid, whether it answers, its CPU and memory (mediasoup's getResourceUsage,
 * the worker's own getrusage) and what it carries — which worker is hot, which one is being replaced.
 */
import express from 'express';
import type { types } from 'mediasoup';
import type { MediaObjectCounts } from '../media/mediaObjects.js';
import type { WorkerPool, WorkerSlotState } from '../media/WorkerPool.js';

/** A worker that does not answer this quickly is shown as not answering (its health check decides its fate). */
const USAGE_TIMEOUT_MS = 1500;

export type WorkerView =
  | ({
      index: number;
      state: 'running';
      pid: number;
      /** Answers its health checks and this request. */
      healthy: boolean;
      silentMs: number;
      /** CPU used since the previous look (or since the worker was first seen), % of one core; null if it did not answer. */
      cpuPercent: number | null;
      cpuSeconds: number | null;
      /** Peak resident memory of the worker process (getrusage ru_maxrss). */
      peakMemoryBytes: number | null;
    } & MediaObjectCounts)
  | { index: number; state: 'restarting' | 'failed'; healthy: false; reason: string };

interface CpuSample {
  at: number;
  cpuMs: number;
}

/** CPU load between looks: each worker's CPU time against the wall time since the last sample. */
class CpuMeter {
  readonly #last = new WeakMap<types.Worker, CpuSample>();
  readonly #firstSeen = new WeakMap<types.Worker, number>();

  /** Starts a worker's clock the first time it is seen (for the first workers: when the router is mounted). */
  seen(worker: types.Worker, at = Date.now()): void {
    if (!this.#firstSeen.has(worker)) this.#firstSeen.set(worker, at);
  }

  percent(worker: types.Worker, cpuMs: number, at: number): number {
    const previous = this.#last.get(worker) ?? { at: this.#firstSeen.get(worker) ?? at, cpuMs: 0 };
    this.#last.set(worker, { at, cpuMs });
    const wall = at - previous.at;
    return wall > 0 ? Math.round(((cpuMs - previous.cpuMs) / wall) * 1000) / 10 : 0;
  }
}

function usageOf(worker: types.Worker): Promise<types.WorkerResourceUsage | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), USAGE_TIMEOUT_MS);
  });
  return Promise.race([worker.getResourceUsage().catch(() => null), timeout]).finally(() => clearTimeout(timer));
}

async function viewOf(slot: WorkerSlotState, cpu: CpuMeter): Promise<WorkerView> {
  if (slot.state !== 'running') return { index: slot.index, state: slot.state, healthy: false, reason: slot.reason };
  const { worker } = slot.host;
  const usage = await usageOf(worker);
  const at = Date.now();
  const cpuMs = usage ? usage.ru_utime + usage.ru_stime : null;
  return {
    index: slot.index,
    state: 'running',
    pid: worker.pid,
    healthy: usage !== null && !slot.late,
    silentMs: slot.silentMs,
    cpuPercent: cpuMs === null ? null : cpu.percent(worker, cpuMs, at),
    cpuSeconds: cpuMs === null ? null : Math.round(cpuMs / 100) / 10,
    // Linux reports ru_maxrss in kilobytes.
    peakMemoryBytes: usage ? usage.ru_maxrss * 1024 : null,
    ...slot.objects,
  };
}

export function adminWorkersRouter(pool: WorkerPool): express.Router {
  const router = express.Router();
  const cpu = new CpuMeter();
  const remember = () => {
    for (const host of pool.workers) cpu.seen(host.worker);
  };
  remember();
  pool.on('workerReplaced', remember);

  router.get('/admin/workers', (_req, res) => {
    Promise.all(pool.slots().map((slot) => viewOf(slot, cpu))).then(
      (workers) => res.json({ workers, problems: pool.problems() }),
      () => res.status(500).json({ error: { code: 'INTERNAL', message: 'the workers could not be read' } }),
    );
  });
  return router;
}
