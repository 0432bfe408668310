/**
 * One step of the broadcast load tool: werift viewers join up to the step's total, then a window is
 * measured — what each connected viewer received over it, and the CPU and memory of the server, of
 * this process (the viewers) and of the presenter's Chromium.
 */
import type { BroadcastLoadOptions } from './broadcastOptions.js';
import type { StepRow } from './broadcastTable.js';
import { startLocalCpu } from './localCpu.js';
import { measure } from './procstat.js';
import type { ServerHandle } from './serverProcess.js';
import { median, mib, p95 } from './stats.js';
import { WeriftViewer } from './WeriftViewer.js';

export interface NamedViewer {
  name: string;
  viewer: WeriftViewer;
}

/** What the steps share: the server, the options, and what they collect. */
export interface StepContext {
  server: ServerHandle;
  options: BroadcastLoadOptions;
  room: string;
  /** Every viewer that joined so far (some may have closed since). */
  viewers: NamedViewer[];
  failures: string[];
}

const site = { id: 'bench', name: 'Bench Hospital', level: 'county_hospital' };

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

/** Joins the named viewers, a few at a time; times each to its first key frame and first RTP packet. */
async function joinViewers(
  ctx: StepContext,
  names: string[],
): Promise<{ joinTimes: number[]; firstRtpTimes: number[]; failedJoins: number }> {
  const { server, options: o, room, viewers, failures } = ctx;
  const joinTimes: number[] = [];
  const firstRtpTimes: number[] = [];
  let failedJoins = 0;
  await pool(names, o.joinConcurrency, async (name) => {
    try {
      const token = await devToken(server, {
        identity: `${room}-${name}`,
        name,
        role: o.viewerRole,
        room,
        kind: o.kind,
        caseId: 'BENCH-1',
        site,
      });
      const viewer = await WeriftViewer.join({ url: server.url, token, joinTimeoutMs: o.joinTimeoutMs });
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
  return { joinTimes, firstRtpTimes, failedJoins };
}

/** Joins `names` (the viewers that bring the total to `target`), settles, measures a window. */
export async function runStep(ctx: StepContext, target: number, names: string[]): Promise<StepRow> {
  const { server, options: o } = ctx;
  const { joinTimes, firstRtpTimes, failedJoins } = await joinViewers(ctx, names);
  await new Promise((r) => setTimeout(r, o.settleMs));

  const open = ctx.viewers.filter((v) => !v.viewer.closed);
  const before = new Map(open.map((v) => [v, v.viewer.stats()]));
  const local = startLocalCpu(server.pid);
  const serverCost = await measure(server.pid, o.windowMs);
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
  return {
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
}
