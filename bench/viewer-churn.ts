/**
 * Does the server give back what viewers took? A presenter (Chromium, camera + mic) in a broadcast
 * room; werift viewers join in batches, receive until their first key frame, and leave — `--viewers`
 * in all (default 1,000). The server's Node and mediasoup worker RSS are read (from /proc) after
 * `--warmup` viewers and again after the last batch has left, and at a few points between, each
 * time after a full garbage collection in the server (bench/lib/gcOnSignal.mjs).
 *
 *   npm run bench:churn -- [--viewers 1000] [--batch 20] [--warmup 600]
 *
 * The bound: the end within 10 % of the start. Loopback only; a watchdog ends the run after
 * 20 minutes.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './lib/browser.js';
import { sampleTree } from './lib/procstat.js';
import { openSdkPage, sdkJoin } from './lib/sdkPage.js';
import { startServerProcess } from './lib/serverProcess.js';
import { mib, table } from './lib/stats.js';
import { WeriftViewer } from './lib/WeriftViewer.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const TOTAL = Number(arg('viewers', '1000'));
const BATCH = Number(arg('batch', '20'));
/**
 * Viewers who come and go before the start is measured: the process's first-time allocations,
 * compiled code and heap sizes. Its RSS settles only after some 600 (2026-12-01, 2,500 viewers after
 * 250: +18 MiB by 625, then +0.5 MiB to 2,500), so a shorter warm-up measures that settling, not what
 * viewers leave behind.
 */
const WARMUP = Number(arg('warmup', '600'));
const ROOM = `bench-churn-${Date.now().toString(36)}`;
const SITE = { id: 'hongqi', name: '红旗村卫生室', level: 'village_clinic' } as const;

function rss(pid: number): { node: number; worker: number } {
  const tree = sampleTree(pid);
  const sum = (f: (name: string) => boolean) => mib(tree.filter((p) => f(p.name)).reduce((a, p) => a + p.rssBytes, 0));
  return { node: sum((n) => !n.startsWith('mediasoup')), worker: sum((n) => n.startsWith('mediasoup')) };
}

/**
 * From the server's own /metrics: the V8 heap in use (live objects and garbage not yet collected),
 * the heap V8 holds from the system, and memory outside it that JS objects own (Buffers, zlib, …).
 */
async function heap(url: string): Promise<{ heap: number; heapTotal: number; external: number }> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const read = (name: string) => mib(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN));
  return {
    heap: read('nodejs_heap_size_used_bytes'),
    heapTotal: read('nodejs_heap_size_total_bytes'),
    external: read('nodejs_external_memory_bytes'),
  };
}

async function main(): Promise<void> {
  setTimeout(() => {
    console.error('viewer-churn: watchdog (20 min) — stopping');
    process.exit(2);
  }, 20 * 60_000).unref();
  const server = await startServerProcess({
    MEDIA_WORKERS: '1',
    NODE_OPTIONS: `--expose-gc --import=${pathToFileURL(path.join(import.meta.dirname, 'lib', 'gcOnSignal.mjs')).href}`,
  });
  /** The server's memory now (mid-run marks: not collected first, so its garbage is counted). */
  const reading = async () => ({ ...rss(server.pid), ...(await heap(server.url)) });
  /** Full GC in the server (bench/lib/gcOnSignal.mjs), then its memory. */
  const settled = async () => {
    process.kill(server.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
    return reading();
  };
  const browser = await launchChromium();
  const token = async (identity: string, role: string) => {
    const res = await fetch(`${server.url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity, name: identity, role, room: ROOM, kind: 'broadcast', site: SITE }),
      signal: AbortSignal.timeout(5000),
    });
    return ((await res.json()) as { token: string }).token;
  };
  let left = 0;
  let failed = 0;
  const batchOf = async (first: number) => {
    const viewers = await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => {
        try {
          const v = await WeriftViewer.join({
            url: server.url,
            token: await token(`viewer-${first + i}`, 'viewer'),
            joinTimeoutMs: 20_000,
          });
          await v.waitForKeyFrame(20_000);
          return v;
        } catch (error) {
          if (failed++ === 0) console.error(`first failure: ${(error as Error).stack}`);
          return undefined;
        }
      }),
    );
    await Promise.all(viewers.map((v) => v?.close() ?? Promise.resolve()));
    left += viewers.filter(Boolean).length;
  };
  try {
    const page = await openSdkPage(browser, server.url);
    await page.evaluate('globalThis.__name ??= (fn) => fn');
    await sdkJoin(page, {
      identity: 'presenter',
      name: '主讲人',
      role: 'presenter',
      room: ROOM,
      kind: 'broadcast',
      caseId: null,
      site: SITE,
    });
    for (let n = -WARMUP; n < 0; n += BATCH) await batchOf(n); // warm-up: first-time allocations, JIT, pools, heap sizes
    await new Promise((r) => setTimeout(r, 3000));
    left = 0;
    const start = await settled();
    const row = (point: string, m: typeof start) => [point, left, m.node, m.heap, m.heapTotal, m.external, m.worker];
    const rows: (string | number)[][] = [row(`start (after ${WARMUP} warm-up viewers)`, start)];
    const marks = new Set([0.25, 0.5, 0.75].map((f) => Math.round((f * TOTAL) / BATCH) * BATCH));
    for (let n = 0; n < TOTAL; n += BATCH) {
      await batchOf(n);
      if (marks.has(n + BATCH)) {
        rows.push(row(`after ${n + BATCH}`, await reading()));
      }
    }
    await new Promise((r) => setTimeout(r, 5000)); // closes settle, timers fire
    const end = await settled();
    rows.push(row('end (all left, 5 s later)', end));
    await new Promise((r) => setTimeout(r, 30_000)); // idle: V8 collects what it had put off
    const later = await settled();
    rows.push(row('30 s later, idle', later));
    console.log(
      `\nViewer churn — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, 1 worker, batches of ${BATCH}, ` +
        `${left} viewers joined, received a key frame and left (${failed} failed)\n`,
    );
    console.log(
      table(['point', 'viewers gone', 'Node RSS MiB', 'heap used MiB', 'heap total MiB', 'external MiB', 'worker RSS MiB'], rows),
    );
    const growth = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
    const grew = (a: { node: number; heap: number }) => `Node RSS ${growth(start.node, a.node)}, heap used ${growth(start.heap, a.heap)}`;
    console.log(
      `\nend vs start: ${grew(end)}, worker ${growth(start.worker, end.worker)}; 30 s later: ${grew(later)} (bound: within 10 %)`,
    );
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}

await main();
process.exit(0);
