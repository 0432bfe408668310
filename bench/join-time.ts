/**
 * Join-time benchmark. Chromium participants (`--publishers`, default two) publish camera +
 * microphone in a consultation; a receive-only observer joins and leaves N times through the SDK.
 * For each join it records the time from opening the signaling connection to the first decoded
 * remote video frame. Then it measures the server's CPU and memory (Node process + mediasoup
 * workers, from /proc) with the publishers alone and with K extra receivers, and prints both tables.
 *
 *   npm run bench:join -- [--joins 10] [--receivers 3] [--window 5000] [--publishers 2] [--no-nice]
 *                         [--compare <another built checkout>] [--rtt <ms>] [--downlink <kbit/s>] [--together 2]
 *
 * Each join is made twice, alternately: "cold", a page that has just loaded, and "warm", a page that
 * called `ConsultationClient.warmUp()` and `preconnect()` and then sat for a second, as on the pre-join
 * screen while the person looks at the preview (the browser's codec description is then done and the
 * signaling socket open before Join is clicked; an SDK without `preconnect` only warms up).
 *
 * Everything runs on this machine's loopback. The publishers stand in for other clinics'
 * machines: their browser runs at nice 10 (unless --no-nice), so their video encoders take the CPU
 * the server and the joining browser leave instead of competing with them on these two cores.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './lib/browser.js';
import { measure } from './lib/procstat.js';
import { startDelayRelay, type DelayRelay } from './lib/delayRelay.js';
import { freeMediaPorts } from './lib/ports.js';
import { startServerProcess, type ServerHandle } from './lib/serverProcess.js';
import { median, mib, p95, table } from './lib/stats.js';
import { JOIN_PHASES } from '../client-sdk/src/JoinTimeline.js';

const { values } = parseArgs({
  options: {
    joins: { type: 'string', default: '10' },
    receivers: { type: 'string', default: '3' },
    window: { type: 'string', default: '5000' },
    workers: { type: 'string', default: '1' },
    // The publishers' browser at full priority, as before 2026-11-30 (their encoders then compete
    // with the joining browser and the server for this machine's two cores).
    'no-nice': { type: 'boolean', default: false },
    // Another built checkout of the project (e.g. a git worktree of an earlier commit, after `npm run
    // build` there): its server — and so its SDK, which the pages load from it — is joined too, the
    // joins alternating between the two, and the first table is printed for both. On a shared,
    // noisy machine only an interleaved run tells a change from drift.
    compare: { type: 'string' },
    // Publishers per room (each one Chromium camera + microphone); with --compare each checkout has its own.
    publishers: { type: 'string', default: '2' },
    // A round trip (ms) added to every path to the server (signaling and media, publishers' too):
    // the server listens on 127.0.0.2 behind a relay on 127.0.0.1 that holds everything half of it
    // each way (bench/lib/delayRelay.ts), as for a clinic on a long line. 0: plain loopback.
    rtt: { type: 'string', default: '0' },
    // Each client's downlink (server → client) limited to this rate (kbit/s) behind a 200 ms queue, as
    // a clinic's line: the same relay as --rtt (bench/lib/delayRelay.ts). 0: not limited.
    downlink: { type: 'string', default: '0' },
    // Joiners per join: that many pages join at the same moment, each measured (key-frame requests
    // from people joining together reach the same cameras within a few ms of each other).
    together: { type: 'string', default: '1' },
  },
});
const JOINS = Math.min(100, Number(values.joins));
const RECEIVERS = Math.min(10, Number(values.receivers));
const PUBLISHERS = Math.max(1, Math.min(4, Number(values.publishers)));
const WINDOW_MS = Math.min(30_000, Number(values.window));
const RTT_MS = Math.max(0, Math.min(1000, Number(values.rtt)));
const DOWNLINK_KBPS = Math.max(0, Math.min(1_000_000, Number(values.downlink)));
const TOGETHER = Math.max(1, Math.min(4, Number(values.together)));
const ROOM = 'bench-join';

/** Lowers the priority of `pid` and everything under it (a browser's zygote passes it on to new renderers). */
function renice(pid: number, niceness: number): void {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const children = spawnSync('pgrep', ['-P', String(tree[i])], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    tree.push(...children.map(Number));
  }
  spawnSync('renice', ['-n', String(niceness), '-p', ...tree.map(String)], { stdio: 'ignore' });
}

/** The main process of the Chromium started last with `marker` among its switches. */
function browserPid(marker: string): number | undefined {
  const found = spawnSync('pgrep', ['-n', '-f', marker], { encoding: 'utf8' }).stdout.trim();
  return found ? Number(found) : undefined;
}

interface JoinTiming {
  joinedMs: number;
  firstFrameMs: number;
  /** The SDK's own timeline of this join (client.timings): ms from join() to each phase. */
  phases: Record<string, number>;
}

/** A server under test, and the URL its clients signal to (through the delay relay with --rtt). */
type Side = ServerHandle & { signalingUrl: string };

async function openPage(browser: Browser, side: Side): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${side.url}/`);
  await page.evaluate((url) => ((window as unknown as { benchSignalingUrl: string }).benchSignalingUrl = url), side.signalingUrl);
  return page;
}

/** Joins in the page with the SDK; resolves when both publishers' first video frames were decoded. */
function joinInPage(page: Page, role: string, name: string, publish: boolean, warm = false): Promise<JoinTiming> {
  return page.evaluate(
    async ({ role, name, publish, room, warm }) => {
      const res = await fetch('/dev/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          identity: name,
          name,
          role,
          site: { id: 'bench', name: 'Bench Hospital', level: 'county_hospital' },
          room,
          kind: 'consultation',
          caseId: 'BENCH-1',
        }),
      });
      const { token } = (await res.json()) as { token: string };
      type Track = { kind: string; mediaStreamTrack: MediaStreamTrack };
      type Client = {
        timings: Record<string, number>;
        on(e: string, f: (t: Track) => void): void;
        publishCamera(): Promise<unknown>;
        publishMicrophone(): Promise<unknown>;
      };
      const sdk = (
        window as unknown as {
          TelemedSDK: {
            ConsultationClient: {
              join(o: object): Promise<Client>;
              warmUp(): Promise<void>;
              preconnect?(o: { url: string; token: string }): Promise<void>;
            };
          };
        }
      ).TelemedSDK;
      const url = (window as unknown as { benchSignalingUrl: string }).benchSignalingUrl;
      if (warm) {
        await sdk.ConsultationClient.warmUp();
        // As the pre-join screen does since 2026-11-30 (a compared checkout without it only warms up).
        await sdk.ConsultationClient.preconnect?.({ url, token });
        await new Promise((r) => setTimeout(r, 1000)); // the person looks at the preview, then clicks Join
      }
      const t0 = performance.now();
      const client = await sdk.ConsultationClient.join({ url, token });
      const joinedMs = performance.now() - t0;
      (window as unknown as { benchClient: Client }).benchClient = client;
      if (publish) {
        await client.publishCamera();
        await client.publishMicrophone();
        return { joinedMs, firstFrameMs: 0, phases: client.timings };
      }
      const firstFrame = new Promise<number>((resolve) => {
        client.on('trackAdded', (t) => {
          if (t.kind !== 'video') return;
          const video = document.createElement('video');
          video.muted = true;
          video.srcObject = new MediaStream([t.mediaStreamTrack]);
          document.body.append(video);
          video.requestVideoFrameCallback(() => resolve(performance.now() - t0));
          void video.play();
        });
      });
      const firstFrameMs = await Promise.race([
        firstFrame,
        new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no frame in 20 s')), 20_000)),
      ]);
      return { joinedMs, firstFrameMs, phases: client.timings };
    },
    { role, name, publish, room: ROOM, warm },
  );
}

/** The join tables: per side (this checkout, and the compared one if any) and kind of page. */
function printJoins(runs: Record<string, JoinTiming[]>, compared: boolean): void {
  console.log(
    `\nJoin time — ${JOINS} cold and ${JOINS} warm joins${compared ? ' per checkout, alternating,' : ''} ` +
      `of ${TOGETHER > 1 ? `${TOGETHER} receive-only participants at once` : 'a receive-only participant'} ` +
      `into a room with ${PUBLISHERS} publisher(s) ` +
      `(${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${new Date().toISOString().slice(0, 10)}; ` +
      `publishers' browser ${values['no-nice'] ? 'at full priority' : 'at nice 10'}` +
      `${RTT_MS ? `; ${RTT_MS} ms round trip added to every path to the server` : ''}` +
      `${DOWNLINK_KBPS ? `; each client's downlink ${DOWNLINK_KBPS} kbit/s` : ''})\n`,
  );
  const stat = (label: string, v: number[]) => [label, median(v), p95(v), Math.min(...v), Math.max(...v)];
  const label = (key: string) => (compared ? key : key.replace(/^this /, ''));
  console.log(
    table(
      ['measure', 'median ms', 'p95 ms', 'min ms', 'max ms'],
      Object.entries(runs).flatMap(([key, timings]) => [
        stat(
          `${label(key)}: connect + join (signaling, router caps, device load)`,
          timings.map((t) => t.joinedMs),
        ),
        stat(
          `${label(key)}: connect → first decoded remote video frame`,
          timings.map((t) => t.firstFrameMs),
        ),
      ]),
    ),
  );
  // The SDK's timeline: where the time to the first picture goes (each phase from join()), per side.
  for (const side of compared ? ['this', 'compared'] : ['this']) {
    const of = (kind: 'cold' | 'warm', name: string) =>
      (runs[`${side} ${kind}`] ?? [])
        .map((t) => (name === 'first decoded frame (page)' ? t.firstFrameMs : t.phases[name]))
        .filter((v): v is number => v !== undefined);
    const phaseRows = [...JOIN_PHASES, 'first decoded frame (page)'].map((name) => [
      name,
      median(of('cold', name)),
      p95(of('cold', name)),
      median(of('warm', name)),
      p95(of('warm', name)),
    ]);
    const whose = compared ? `, ${side === 'this' ? 'this checkout' : 'the compared checkout'}` : '';
    console.log(`\nWhere the time goes (client.timings: ms from join() to each phase; the page's token fetch not included${whose})\n`);
    console.log(table(['phase', 'cold median', 'cold p95', 'warm median', 'warm p95'], phaseRows));
  }
}

async function main(): Promise<void> {
  const relays: DelayRelay[] = [];
  const server = await startSide(relays);
  const other = values.compare ? await startSide(relays, values.compare) : undefined;
  const publisherBrowser = await launchChromium(['--bench-role=publishers']);
  const pid = browserPid('--bench-role=publishers');
  if (!values['no-nice'] && pid) renice(pid, 10);
  const browser = await launchChromium();
  try {
    const sides = other ? { this: server, compared: other } : { this: server };
    const publishers = new Map<Side, Page[]>();
    for (const side of Object.values(sides)) {
      const pages: Page[] = [];
      for (let p = 0; p < PUBLISHERS; p++) {
        const page = await openPage(publisherBrowser, side);
        await joinInPage(page, 'specialist', `Publisher ${p + 1}`, true);
        pages.push(page);
      }
      publishers.set(side, pages);
    }
    await new Promise((r) => setTimeout(r, 2000)); // let the publishers' bitrates settle

    const runs: Record<string, JoinTiming[]> = {};
    for (let i = 0; i < JOINS; i++) {
      for (const [label, side] of Object.entries(sides)) {
        for (const kind of ['cold', 'warm'] as const) {
          // --together N: N people join at the same moment (the start of a consultation).
          const pages = await Promise.all(Array.from({ length: TOGETHER }, () => openPage(browser, side)));
          const timings = await Promise.all(
            pages.map((page, j) => joinInPage(page, 'observer', `Joiner ${i}.${j} ${kind}`, false, kind === 'warm')),
          );
          (runs[`${label} ${kind}`] ??= []).push(...timings);
          for (const page of pages) await page.context().close();
        }
      }
    }
    if (other) {
      for (const page of publishers.get(other) ?? []) await page.context().close();
      await other.stop();
    }
    printJoins(runs, !!other);

    const base = await measure(server.pid, WINDOW_MS);
    const receivers: Page[] = [];
    for (let i = 0; i < RECEIVERS; i++) {
      const page = await openPage(browser, server);
      await joinInPage(page, 'observer', `Receiver ${i}`, false);
      receivers.push(page);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = await measure(server.pid, WINDOW_MS);

    const participants = (n: number) => PUBLISHERS + n;
    console.log(`\nServer cost (Node + mediasoup workers, ${WINDOW_MS / 1000} s windows; % of one core)\n`);
    console.log(
      table(
        ['state', 'participants', 'CPU %', 'RSS MiB', 'CPU % / participant', 'RSS MiB / participant'],
        [
          [
            `${PUBLISHERS} publishers`,
            participants(0),
            base.cpuPercent,
            mib(base.rssBytes),
            base.cpuPercent / participants(0),
            mib(base.rssBytes) / participants(0),
          ],
          [
            `${PUBLISHERS} publishers + ${RECEIVERS} receivers`,
            participants(RECEIVERS),
            loaded.cpuPercent,
            mib(loaded.rssBytes),
            loaded.cpuPercent / participants(RECEIVERS),
            mib(loaded.rssBytes) / participants(RECEIVERS),
          ],
          [
            'marginal receiver',
            1,
            (loaded.cpuPercent - base.cpuPercent) / Math.max(1, RECEIVERS),
            mib(loaded.rssBytes - base.rssBytes) / Math.max(1, RECEIVERS),
            '',
            '',
          ],
        ],
      ),
    );
    console.log('\nPer process (loaded):\n');
    console.log(
      table(
        ['process', 'CPU %', 'RSS MiB'],
        loaded.perProcess.map((p) => [p.name, p.cpuPercent, mib(p.rssBytes)]),
      ),
    );
  } finally {
    await browser.close();
    await publisherBrowser.close();
    await other?.stop();
    await server.stop();
    for (const relay of relays) await relay.close();
  }
}

/**
 * A server to join: on loopback, or with --rtt far away: its media listens on 127.0.0.2 and announces
 * 127.0.0.1, where a delay relay holds every datagram, and the clients' signaling goes through the
 * relay too (pages still load, and mint their tokens, straight from the server: /dev/token only
 * answers its own origin). The relays go into `relays`, to be closed.
 */
async function startSide(relays: DelayRelay[], checkout?: string): Promise<Side> {
  const env = { MEDIA_WORKERS: values.workers };
  if (RTT_MS === 0 && DOWNLINK_KBPS === 0) {
    const server = await startServerProcess(env, undefined, checkout);
    return { ...server, signalingUrl: server.url };
  }
  const [near, far] = ['127.0.0.1', '127.0.0.2'];
  const server = await startServerProcess({ ...env, MEDIA_LISTEN_IP: far, MEDIA_ANNOUNCED_ADDRESS: near }, undefined, checkout);
  const httpPort = Number(new URL(server.url).port);
  const signalingPort = await freeMediaPorts();
  // Media ports as startServerProcess assigns them: one per worker after the HTTP port.
  const media = Array.from({ length: Number(values.workers) }, (_, i) => httpPort + 1 + i).map((port) => ({
    listen: { host: near, port },
    target: { host: far, port },
  }));
  const signaling = { listen: { host: near, port: signalingPort }, target: { host: near, port: httpPort } };
  relays.push(
    await startDelayRelay({ tcp: [signaling, ...media], udp: media, oneWayMs: RTT_MS / 2, downlinkKbps: DOWNLINK_KBPS || undefined }),
  );
  return { ...server, signalingUrl: `http://${near}:${signalingPort}` };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
