/**
 * CPU of the benchmark's own side — this process (the werift viewers) and its other children (the
 * presenter's Chromium) — measured over the same window as the server, to show who competes for the
 * cores when everything runs on one machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sample } from './procstat.js';

/** A process and all its descendants, whichever thread forked them (Chromium forks from several). */
function fullTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        for (const kid of kids) if (!out.includes(kid)) out.push(kid);
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** CPU (% of one core) of this process and of its other children (Chromium) over the same window. */
export function startLocalCpu(serverPid: number): () => { benchCpu: number; presenterCpu: number } {
  const t0 = performance.now();
  const self0 = process.cpuUsage();
  const others = () => {
    const exclude = new Set(fullTree(serverPid));
    exclude.add(process.pid);
    const out = new Map<number, number>();
    for (const pid of fullTree(process.pid)) {
      const s = exclude.has(pid) ? undefined : sample(pid);
      if (s) out.set(pid, s.cpuSeconds);
    }
    return out;
  };
  const before = others();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    let presenter = 0;
    for (const [pid, cpu] of others()) presenter += cpu - (before.get(pid) ?? cpu);
    return { benchCpu: (100 * (self.user + self.system)) / 1e6 / seconds, presenterCpu: (100 * presenter) / seconds };
  };
}
