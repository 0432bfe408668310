/** CPU and memory of a process tree from /proc (Linux): the server's Node process and its workers. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!));
  return out;
}

export interface ProcSample {
  pid: number;
  name: string;
  cpuSeconds: number;
  rssBytes: number;
}

export function sample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { pid, name, cpuSeconds, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
  } catch {
    return undefined;
  }
}

export function sampleTree(pid: number): ProcSample[] {
  return processTree(pid)
    .map(sample)
    .filter((s): s is ProcSample => !!s);
}

/** CPU used by the tree over `ms` milliseconds, as a percentage of one core, and RSS at the end. */
export async function measure(
  pid: number,
  ms: number,
): Promise<{ cpuPercent: number; rssBytes: number; perProcess: { name: string; cpuPercent: number; rssBytes: number }[] }> {
  const before = new Map(sampleTree(pid).map((s) => [s.pid, s]));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, ms));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = sampleTree(pid);
  const perProcess = after.map((s) => ({
    name: s.name,
    cpuPercent: (100 * (s.cpuSeconds - (before.get(s.pid)?.cpuSeconds ?? s.cpuSeconds))) / seconds,
    rssBytes: s.rssBytes,
  }));
  return {
    cpuPercent: perProcess.reduce((a, p) => a + p.cpuPercent, 0),
    rssBytes: perProcess.reduce((a, p) => a + p.rssBytes, 0),
    perProcess,
  };
}

export function cpuCount(): number {
  return readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length;
}
