/**
 * Broadcast load: one presenter (headless Chromium, fake camera + microphone, through the SDK test
 * page) publishes in a room; light WebRTC viewers (werift, ./lib/WeriftViewer.ts — real ICE, DTLS,
 * SRTP, NACK/PLI, VP8 frames reassembled and key frames checked) join in steps. After each step it
 * measures a window and prints a markdown row: viewers connected, join time to the first complete
 * key frame (for the viewers of that step), what each viewer receives, packet loss, the server's CPU
 * per process (Node + each mediasoup worker) and RSS, and the CPU of this process (the viewers) and
 * of the presenter's Chromium — all on one machine, so the figures compete for the same cores.
 *
 *   npm run build    # once: the server runs from dist/, the presenter page loads the SDK bundle
 *   node --import tsx bench/broadcast-load.ts -- [--steps 5,10,20] [--window 5000] [--settle 1000]
 *        [--workers <cores>] [--kind consultation|broadcast] [--join-concurrency 5] [--join-timeout 15000]
 *        [--env SERVER_VAR=value ...]
 *
 * --kind consultation (default): presenter role `specialist`, viewers `observer`.
 * --kind broadcast: presenter `presenter`, viewers `viewer`. --presenter-role / --viewer-role override.
 * Loopback only; every wait is bounded and the tool stops by itself (a watchdog ends it otherwise).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import type { RoomKind } from '../signaling/protocol/index.js';
import { launchChromium } from '../test/helpers/browser.js';
import { openSdkPage, sdkJoin } from '../test/helpers/sdkPage.js';
import { cpuCount, measure, sample } from './lib/procstat.js';
import { startServerProcess, type ServerHandle } from './lib/serverProcess.js';
import { median, mib, p95, table } from './lib/stats.js';
import { WeriftViewer, type ViewerStats } from './lib/WeriftViewer.js';

export interface BroadcastLoadOptions {
  /** Total viewers after each step, increasing (e.g. [5, 10, 20]). */
  steps: number[];
  /** Measurement window per step (ms). */
  windowMs: number;
  /** Pause between the last join of a step and its window (ms). */
  settleMs: number;
  /** mediasoup workers of the server (MEDIA_WORKERS). */
  workers: number;
  kind: RoomKind;
  presenterRole: string;
  viewerRole: string;
  /** Viewers joining at the same time within a step. */
  joinConcurrency: number;
  /** Per viewer: join + first key frame (ms). */
  joinTimeoutMs: number;
  /** Extra server environment (e.g. BROADCAST_CONSUMERS_PER_ROUTER). */
  serverEnv?: Record<string, string>;
  /** Output sink (default console.log). */
  print?: (line: string) => void;
}

export const DEFAULTS: BroadcastLoadOptions = {
  steps: [5, 10, 20],
  windowMs: 5000,
  settleMs: 1000,
  workers: cpuCount(),
  kind: 'consultation',
  presenterRole: 'specialist',
  viewerRole: 'observer',
  joinConcurrency: 5,
  joinTimeoutMs: 15_000,
};

export const MAX_VIEWERS = 200;

export interface StepRow {
  viewers: number;
  connected: number;
  failedJoins: number;
  joinMedianMs: number;
  joinP95Ms: number;
  /** Same viewers, to their first RTP packet (signaling, ICE, DTLS; the rest is waiting for a key frame). */
  firstRtpMedianMs: number;
  videoKbpsMedian: number;
  audioKbpsMedian: number;
  videoFpsMedian: number;
  /** Most common size of the viewers' last key frame (which simulcast layer they get). */
  videoSize: string;
  lossMedianPct: number;
  lossMaxPct: number;
  serverNodeCpu: number;
  workerCpu: number[];
  serverCpu: number;
  serverRssMiB: number;
  benchCpu: number;
  presenterCpu: number;
}

export interface ViewerReport {
  name: string;
  stats: ViewerStats;
  iceServerUrls: string[];
  localCandidateAddresses: string[];
  selectedRemoteAddress: string | undefined;
}

export interface BroadcastLoadResult {
  rows: StepRow[];
  /** The aligned markdown table of all steps. */
  table: string;
  /** Every viewer still open at the end, as last measured. */
  viewers: ViewerReport[];
  failures: string[];
}

export const HEADERS = [
  'viewers',
  'connected',
  'join→key frame median ms',
  'join p95 ms',
  'join→first RTP median ms',
  'video kbps/viewer',
  'audio kbps/viewer',
  'video fps/viewer',
  'key frame size',
  'loss % median',
  'loss % max',
  'server node CPU %',
  'worker CPU %',
  'server RSS MiB',
  'bench CPU %',
  'presenter CPU %',
];

function cells(r: StepRow): (string | number)[] {
  return [
    r.viewers,
    r.failedJoins ? `${r.connected} (${r.failedJoins} failed)` : r.connected,
    r.joinMedianMs,
    r.joinP95Ms,
    r.firstRtpMedianMs,
    r.videoKbpsMedian,
    r.audioKbpsMedian,
    r.videoFpsMedian,
    r.videoSize,
    r.lossMedianPct.toFixed(2),
    r.lossMaxPct.toFixed(2),
    r.serverNodeCpu,
    r.workerCpu.map((c) => c.toFixed(1)).join(' / '),
    r.serverRssMiB,
    r.benchCpu,
    r.presenterCpu,
  ];
}

const fmt = (c: string | number) => (typeof c === 'number' ? (Number.isFinite(c) ? (Number.isInteger(c) ? String(c) : c.toFixed(1)) : '-') : c);
const markdownRow = (values: (string | number)[]) => `| ${values.map(fmt).join(' | ')} |`;

async function devToken(server: ServerHandle, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${server.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`dev token: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

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
function startLocalCpu(serverPid: number): () => { benchCpu: number; presenterCpu: number } {
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

export async function runBroadcastLoad(partial: Partial<BroadcastLoadOptions> = {}): Promise<BroadcastLoadResult> {
  const o: BroadcastLoadOptions = { ...DEFAULTS, ...partial };
  const print = o.print ?? ((line: string) => console.log(line));
  const steps = [...o.steps].sort((a, b) => a - b);
  if (!steps.length || steps.some((n) => !Number.isInteger(n) || n < 1) || steps.at(-1)! > MAX_VIEWERS) throw new Error(`steps must be 1..${MAX_VIEWERS}`);
  const room = `bench-broadcast-${Date.now().toString(36)}`;
  const site = { id: 'bench', name: 'Bench Hospital', level: 'county_hospital' };
  const viewers: { name: string; viewer: WeriftViewer }[] = [];
  const failures: string[] = [];
  const rows: StepRow[] = [];
  let attempted = 0; // viewers started, joined or not: names (identities) are never reused
  let server: ServerHandle | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServerProcess({ ...o.serverEnv, MEDIA_WORKERS: String(o.workers) });
    browser = await launchChromium();
    const page = await openSdkPage(browser, server.url);
    // tsx compiles with esbuild's keepNames: functions passed to page.evaluate call its __name helper.
    await page.evaluate('globalThis.__name ??= (fn) => fn');
    const joined = await Promise.race([
      sdkJoin(page, { identity: 'bench-presenter', name: 'Presenter', role: o.presenterRole, room, kind: o.kind, caseId: 'BENCH-1', site: { id: 'bench-p', name: 'Provincial Hospital', level: 'tertiary_hospital' } }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('presenter did not join and publish within 20 s')), 20_000).unref()),
    ]);
    if (joined !== 'joined') throw new Error(`presenter is ${joined}`);
    await new Promise((r) => setTimeout(r, 1500)); // the presenter's encoder and bitrate ramp up

    print(`\nBroadcast load — ${o.kind} room, presenter ${o.presenterRole} (Chromium, simulcast camera + mic), viewers ${o.viewerRole} (werift); ${os.cpus().length} cores, ${o.workers} worker(s), ${o.windowMs / 1000} s windows, ${new Date().toISOString().slice(0, 10)}`);
    print('CPU in % of one core; kbps, fps and loss per viewer over the window (median); join time = signaling connect → first complete VP8 key frame, for the viewers added in that step.\n');
    print(markdownRow(HEADERS));
    print(`| ${HEADERS.map(() => '---').join(' | ')} |`);

    for (const target of steps) {
      const names = Array.from({ length: target - attempted }, (_, i) => `viewer-${attempted + i + 1}`);
      attempted = target;
      const joinTimes: number[] = [];
      const firstRtpTimes: number[] = [];
      let failedJoins = 0;
      const srv = server;
      await pool(names, o.joinConcurrency, async (name) => {
        try {
          const token = await devToken(srv, { identity: `${room}-${name}`, name, role: o.viewerRole, room, kind: o.kind, caseId: 'BENCH-1', site });
          const viewer = await WeriftViewer.join({ url: srv.url, token, joinTimeoutMs: o.joinTimeoutMs });
          for (const m of viewer.warnings) failures.push(`${name}: ${m}`); // raised during join
          viewer.on('warning', (m) => failures.push(`${name}: ${m}`));
          viewers.push({ name, viewer });
          joinTimes.push(await viewer.waitForKeyFrame(o.joinTimeoutMs));
          firstRtpTimes.push(viewer.stats().firstRtpMs!);
        } catch (error) {
          failedJoins++;
          failures.push(`${name}: ${(error as Error).message}`);
        }
      });
      await new Promise((r) => setTimeout(r, o.settleMs));

      const open = viewers.filter((v) => !v.viewer.closed);
      const before = new Map(open.map((v) => [v, v.viewer.stats()]));
      const local = startLocalCpu(srv.pid);
      const serverCost = await measure(srv.pid, o.windowMs);
      const { benchCpu, presenterCpu } = local();
      const video: number[] = [];
      const audio: number[] = [];
      const fps: number[] = [];
      const loss: number[] = [];
      const sizes = new Map<string, number>();
      let connected = 0;
      for (const v of open) {
        const s0 = before.get(v)!;
        const s1 = v.viewer.stats();
        if (v.viewer.closed || s1.connectionState !== 'connected' || s1.firstKeyFrameMs === undefined) continue;
        connected++;
        const size = `${s1.video.width}x${s1.video.height}`;
        sizes.set(size, (sizes.get(size) ?? 0) + 1);
        const seconds = (s1.at - s0.at) / 1000;
        video.push((8 * (s1.video.bytes - s0.video.bytes)) / 1000 / seconds);
        audio.push((8 * (s1.audio.bytes - s0.audio.bytes)) / 1000 / seconds);
        fps.push((s1.video.decodableFrames - s0.video.decodableFrames) / seconds);
        const expected = s1.video.expected - s0.video.expected + (s1.audio.expected - s0.audio.expected);
        const lost = s1.video.lost - s0.video.lost + (s1.audio.lost - s0.audio.lost);
        loss.push(expected > 0 ? (100 * Math.max(0, lost)) / expected : 0);
      }
      const node = serverCost.perProcess.find((p) => p.name === 'node');
      const workers = serverCost.perProcess.filter((p) => p.name.startsWith('mediasoup-work'));
      const row: StepRow = {
        viewers: target,
        connected,
        failedJoins,
        joinMedianMs: median(joinTimes),
        joinP95Ms: p95(joinTimes),
        firstRtpMedianMs: median(firstRtpTimes),
        videoKbpsMedian: median(video),
        audioKbpsMedian: median(audio),
        videoFpsMedian: median(fps),
        videoSize: [...sizes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '-',
        lossMedianPct: loss.length ? median(loss) : Number.NaN,
        lossMaxPct: loss.length ? Math.max(...loss) : Number.NaN,
        serverNodeCpu: node?.cpuPercent ?? Number.NaN,
        workerCpu: workers.map((w) => w.cpuPercent),
        serverCpu: serverCost.cpuPercent,
        serverRssMiB: mib(serverCost.rssBytes),
        benchCpu,
        presenterCpu,
      };
      rows.push(row);
      print(markdownRow(cells(row)));
    }

    const summary = table(HEADERS, rows.map(cells));
    print(`\n${summary}\n`);
    if (failures.length) print(`Problems (${failures.length}):\n${failures.slice(0, 20).map((f) => `  - ${f}`).join('\n')}`);
    return {
      rows,
      table: summary,
      failures,
      viewers: viewers
        .filter((v) => !v.viewer.closed)
        .map((v) => ({
          name: v.name,
          stats: v.viewer.stats(),
          iceServerUrls: v.viewer.iceServerUrls,
          localCandidateAddresses: v.viewer.localCandidateAddresses,
          selectedRemoteAddress: v.viewer.selectedRemoteAddress,
        })),
    };
  } finally {
    await Promise.allSettled(viewers.map((v) => v.viewer.close()));
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }
}

function parseCli(argv: string[]): BroadcastLoadOptions {
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      steps: { type: 'string', default: DEFAULTS.steps.join(',') },
      window: { type: 'string', default: String(DEFAULTS.windowMs) },
      settle: { type: 'string', default: String(DEFAULTS.settleMs) },
      workers: { type: 'string', default: String(DEFAULTS.workers) },
      kind: { type: 'string', default: DEFAULTS.kind },
      'presenter-role': { type: 'string' },
      'viewer-role': { type: 'string' },
      'join-concurrency': { type: 'string', default: String(DEFAULTS.joinConcurrency) },
      'join-timeout': { type: 'string', default: String(DEFAULTS.joinTimeoutMs) },
      env: { type: 'string', multiple: true, default: [] },
    },
  });
  const kind = values.kind as RoomKind;
  const broadcast = kind === 'broadcast';
  const int = (v: string, name: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  return {
    steps: values.steps.split(',').map((s) => int(s.trim(), 'steps', 1, MAX_VIEWERS)),
    windowMs: int(values.window, 'window', 500, 60_000),
    settleMs: int(values.settle, 'settle', 0, 30_000),
    workers: int(values.workers, 'workers', 1, 64),
    kind,
    presenterRole: values['presenter-role'] ?? (broadcast ? 'presenter' : 'specialist'),
    viewerRole: values['viewer-role'] ?? (broadcast ? 'viewer' : 'observer'),
    joinConcurrency: int(values['join-concurrency'], 'join-concurrency', 1, 50),
    joinTimeoutMs: int(values['join-timeout'], 'join-timeout', 1000, 60_000),
    serverEnv: Object.fromEntries(
      values.env.map((kv) => {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new Error(`--env wants KEY=VALUE, not ${kv}`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    ),
  };
}

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  // Worst case: every join batch times out twice (join, then key frame), plus start-up and windows.
  let budgetMs = 90_000;
  let previous = 0;
  for (const step of [...options.steps].sort((a, b) => a - b)) {
    budgetMs += 2 * options.joinTimeoutMs * Math.ceil((step - previous) / options.joinConcurrency) + options.settleMs + options.windowMs + 5000;
    previous = step;
  }
  const bound = Math.min(budgetMs, 60 * 60_000);
  setTimeout(() => {
    console.error(`broadcast-load: still running after ${Math.round(bound / 1000)} s; giving up`);
    process.exit(2);
  }, bound).unref();
  const result = await runBroadcastLoad(options);
  process.exitCode = result.rows.every((r) => r.connected === r.viewers) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
