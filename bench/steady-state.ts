/**
 * Steady-state forwarding cost, side by side: the product (built server, one worker, a broadcast
 * room) against a minimal mediasoup SFU (./lib/rawSfu.ts: same worker binary, same codecs, same
 * signaling names, nothing else) — one Chromium page publishing the same fake camera (simulcast) and
 * microphone through the same SDK to each, and the same number of werift viewers on each, added in
 * steps. Both servers run at once and are measured in the same windows (CPU from /proc over the
 * process tree: Node + worker), so drift and neighbours' noise hit both alike.
 *
 *   npm run bench:steady -- [--steps 25,50] [--windows 5] [--window 4000] [--settle 3000]
 *
 * Prints per step: CPU (median over the windows) of each, the ratio, and the marginal cost per
 * subscriber over the publisher-only baseline (the issue's "≤ 1.02×"), RSS per subscriber, and what
 * the viewers received from each (so a cheaper server that forwards less would show).
 * Loopback only; bounded: a watchdog ends the run after 15 minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from './lib/browser.js';
import { freeMediaPorts } from './lib/ports.js';
import { measure } from './lib/procstat.js';
import { openSdkPage, sdkJoin } from './lib/sdkPage.js';
import { startServerProcess, type ServerHandle } from './lib/serverProcess.js';
import { median, mib, table } from './lib/stats.js';
import { WeriftViewer } from './lib/WeriftViewer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const STEPS = arg('steps', '25,50').split(',').map(Number);
const WINDOWS = Number(arg('windows', '5'));
const WINDOW_MS = Number(arg('window', '4000'));
const SETTLE_MS = Number(arg('settle', '3000'));
const ROOM = `bench-steady-${Date.now().toString(36)}`;

interface Side {
  name: 'product' | 'raw';
  url: string;
  pid: number;
  viewers: WeriftViewer[];
}

interface Sample {
  cpu: number;
  nodeCpu: number;
  workerCpu: number;
  rss: number;
}

async function startRaw(): Promise<{ url: string; pid: number; stop(): void }> {
  const httpPort = await freeMediaPorts(2);
  const mediaPort = httpPort + 1;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'lib', 'rawSfu.ts')], {
    cwd: root,
    env: { ...process.env, RAW_HTTP_PORT: String(httpPort), RAW_MEDIA_PORT: String(mediaPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw SFU did not start within 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`raw SFU exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${httpPort}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

async function devToken(product: ServerHandle, identity: string, role: string): Promise<string> {
  const res = await fetch(`${product.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      identity,
      name: identity,
      role,
      room: ROOM,
      kind: 'broadcast',
      site: { id: 'bench', name: '安平县医院', level: 'county_hospital' },
    }),
    signal: AbortSignal.timeout(5000),
  });
  return ((await res.json()) as { token: string }).token;
}

async function publish(browser: Browser, product: ServerHandle, side: Side): Promise<void> {
  const page = await openSdkPage(browser, product.url);
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  const token = await devToken(product, `presenter-${side.name}`, 'presenter');
  // The issue's source: a 720p30 camera (simulcast, up to 1.2 Mbit/s on the top layer) and Opus.
  const joined = await sdkJoin(page, {
    camera: { width: 1280, height: 720, frameRate: 30 },
    identity: `presenter-${side.name}`,
    name: '主讲人',
    role: 'presenter',
    room: ROOM,
    url: side.url,
    token,
  });
  if (joined !== 'joined') throw new Error(`the ${side.name} presenter is ${joined}`);
}

async function sampleWindow(sides: Side[]): Promise<Sample[]> {
  const results = await Promise.all(sides.map((s) => measure(s.pid, WINDOW_MS)));
  return results.map((r) => ({
    cpu: r.cpuPercent,
    nodeCpu: r.perProcess.filter((p) => !p.name.startsWith('mediasoup')).reduce((a, p) => a + p.cpuPercent, 0),
    workerCpu: r.perProcess.filter((p) => p.name.startsWith('mediasoup')).reduce((a, p) => a + p.cpuPercent, 0),
    rss: r.rssBytes,
  }));
}

/** Median kbps and loss % the side's viewers received over the last window. */
function delivery(side: Side, before: Map<WeriftViewer, ReturnType<WeriftViewer['stats']>>): { kbps: number; loss: number } {
  const kbps: number[] = [];
  const loss: number[] = [];
  for (const v of side.viewers) {
    const s0 = before.get(v);
    const s1 = v.stats();
    if (!s0 || v.closed) continue;
    const seconds = (s1.at - s0.at) / 1000;
    kbps.push((8 * (s1.video.bytes - s0.video.bytes + s1.audio.bytes - s0.audio.bytes)) / 1000 / seconds);
    const expected = s1.video.expected - s0.video.expected + s1.audio.expected - s0.audio.expected;
    const lost = s1.video.lost - s0.video.lost + s1.audio.lost - s0.audio.lost;
    loss.push(expected > 0 ? (100 * Math.max(0, lost)) / expected : 0);
  }
  return { kbps: median(kbps), loss: median(loss) };
}

async function measureStep(sides: Side[]): Promise<{ samples: Sample[][]; delivered: { kbps: number; loss: number }[] }> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const before = new Map(sides.flatMap((s) => s.viewers.map((v) => [v, v.stats()] as const)));
  const samples: Sample[][] = [];
  for (let w = 0; w < WINDOWS; w++) samples.push(await sampleWindow(sides));
  return { samples, delivered: sides.map((s) => delivery(s, before)) };
}

async function addViewers(product: ServerHandle, side: Side, target: number): Promise<void> {
  while (side.viewers.length < target) {
    const batch = Array.from({ length: Math.min(5, target - side.viewers.length) }, (_, i) => `v-${side.name}-${side.viewers.length + i}`);
    const joined = await Promise.all(
      batch.map(async (identity) =>
        WeriftViewer.join({ url: side.url, token: await devToken(product, identity, 'viewer'), joinTimeoutMs: 20_000 }),
      ),
    );
    side.viewers.push(...joined);
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error('steady-state: watchdog (15 min) — stopping');
    process.exit(2);
  }, 15 * 60_000);
  watchdog.unref();
  let product: ServerHandle | undefined;
  let raw: Awaited<ReturnType<typeof startRaw>> | undefined;
  let browser: Browser | undefined;
  const sides: Side[] = [];
  try {
    product = await startServerProcess({ MEDIA_WORKERS: '1' });
    raw = await startRaw();
    sides.push(
      { name: 'product', url: product.url, pid: product.pid, viewers: [] },
      { name: 'raw', url: raw.url, pid: raw.pid, viewers: [] },
    );
    browser = await launchChromium();
    for (const side of sides) await publish(browser, product, side);
    await new Promise((r) => setTimeout(r, 3000)); // the encoders ramp up

    const baseline = await measureStep(sides);
    const base = sides.map((_, i) => ({
      cpu: median(baseline.samples.map((w) => w[i]!.cpu)),
      rss: median(baseline.samples.map((w) => w[i]!.rss)),
    }));
    const rows: (string | number)[][] = [];
    for (const target of STEPS) {
      for (const side of sides) await addViewers(product, side, target);
      const { samples, delivered } = await measureStep(sides);
      const cpu = sides.map((_, i) => median(samples.map((w) => w[i]!.cpu)));
      const node = sides.map((_, i) => median(samples.map((w) => w[i]!.nodeCpu)));
      const worker = sides.map((_, i) => median(samples.map((w) => w[i]!.workerCpu)));
      const ratios = samples.map((w) => w[0]!.cpu / w[1]!.cpu);
      const marginal = sides.map((_, i) => (cpu[i]! - base[i]!.cpu) / target);
      const rss = sides.map((_, i) => (mib(median(samples.map((w) => w[i]!.rss))) - mib(base[i]!.rss)) / target);
      rows.push([
        target,
        `${cpu[0]!.toFixed(1)} (${node[0]!.toFixed(1)} + ${worker[0]!.toFixed(1)})`,
        `${cpu[1]!.toFixed(1)} (${node[1]!.toFixed(1)} + ${worker[1]!.toFixed(1)})`,
        `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
        `${marginal[0]!.toFixed(3)} / ${marginal[1]!.toFixed(3)} = ${marginal[1]! > 0 ? `${(marginal[0]! / marginal[1]!).toFixed(2)}×` : 'n/a'}`,
        `${rss[0]!.toFixed(2)} / ${rss[1]!.toFixed(2)}`,
        `${delivered[0]!.kbps.toFixed(0)} / ${delivered[1]!.kbps.toFixed(0)}`,
        `${delivered[0]!.loss.toFixed(2)} / ${delivered[1]!.loss.toFixed(2)}`,
      ]);
    }
    console.log(
      `\nSteady state, product vs minimal mediasoup SFU — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ` +
        `1 worker each, ${WINDOWS} × ${WINDOW_MS / 1000} s windows measured at once on both; publisher-only baseline ` +
        `${base[0]!.cpu.toFixed(1)} % vs ${base[1]!.cpu.toFixed(1)} % of a core\n`,
    );
    console.log(
      table(
        [
          'subscribers',
          'product CPU % (Node + worker)',
          'raw CPU % (Node + worker)',
          'total ratio (min–max)',
          'per subscriber % product / raw',
          'RSS MiB / subscriber product / raw',
          'kbps / viewer product / raw',
          'loss % product / raw',
        ],
        rows,
      ),
    );
  } finally {
    for (const side of sides) await Promise.all(side.viewers.map((v) => v.close().catch(() => undefined)));
    await browser?.close().catch(() => undefined);
    raw?.stop();
    await product?.stop();
  }
}

await main();
process.exit(0);
