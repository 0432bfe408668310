/**
 * Join-time benchmark. Two Chromium participants publish camera + microphone in a consultation; a
 * third (receive-only observer) joins and leaves N times through the SDK. For each join it records
 * the time from opening the signaling connection to the first decoded remote video frame. Then it
 * measures the server's CPU and memory (Node process + mediasoup workers, from /proc) with the two
 * publishers alone and with K extra receivers, and prints both tables.
 *
 *   npm run bench:join -- [--joins 10] [--receivers 3] [--window 5000]
 *
 * Everything runs on this machine's loopback; the browsers share its cores with the server.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './lib/browser.js';
import { measure } from './lib/procstat.js';
import { startServerProcess, type ServerHandle } from './lib/serverProcess.js';
import { median, mib, p95, table } from './lib/stats.js';
import { JOIN_PHASES } from '../client-sdk/src/JoinTimeline.js';

const { values } = parseArgs({
  options: {
    joins: { type: 'string', default: '10' },
    receivers: { type: 'string', default: '3' },
    window: { type: 'string', default: '5000' },
    workers: { type: 'string', default: '1' },
  },
});
const JOINS = Math.min(100, Number(values.joins));
const RECEIVERS = Math.min(10, Number(values.receivers));
const WINDOW_MS = Math.min(30_000, Number(values.window));
const ROOM = 'bench-join';

interface JoinTiming {
  joinedMs: number;
  firstFrameMs: number;
  /** The SDK's own timeline of this join (client.timings): ms from join() to each phase. */
  phases: Record<string, number>;
}

async function openPage(browser: Browser, server: ServerHandle): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.url}/`);
  return page;
}

/** Joins in the page with the SDK; resolves when both publishers' first video frames were decoded. */
function joinInPage(page: Page, role: string, name: string, publish: boolean): Promise<JoinTiming> {
  return page.evaluate(
    async ({ role, name, publish, room }) => {
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
      const sdk = (window as unknown as { TelemedSDK: { ConsultationClient: { join(o: object): Promise<Client> } } }).TelemedSDK;
      const t0 = performance.now();
      const client = await sdk.ConsultationClient.join({ url: location.origin, token });
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
    { role, name, publish, room: ROOM },
  );
}

async function main(): Promise<void> {
  const server = await startServerProcess({ MEDIA_WORKERS: values.workers });
  const browser = await launchChromium();
  try {
    const publishers: Page[] = [];
    for (const name of ['Publisher A', 'Publisher B']) {
      const page = await openPage(browser, server);
      await joinInPage(page, 'specialist', name, true);
      publishers.push(page);
    }
    await new Promise((r) => setTimeout(r, 2000)); // let the publishers' bitrates settle

    const timings: JoinTiming[] = [];
    for (let i = 0; i < JOINS; i++) {
      const page = await openPage(browser, server);
      timings.push(await joinInPage(page, 'observer', `Joiner ${i}`, false));
      await page.context().close();
    }

    const base = await measure(server.pid, WINDOW_MS);
    const receivers: Page[] = [];
    for (let i = 0; i < RECEIVERS; i++) {
      const page = await openPage(browser, server);
      await joinInPage(page, 'observer', `Receiver ${i}`, false);
      receivers.push(page);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = await measure(server.pid, WINDOW_MS);

    const join = timings.map((t) => t.joinedMs);
    const frame = timings.map((t) => t.firstFrameMs);
    console.log(
      `\nJoin time — ${JOINS} joins of a receive-only participant into a room with 2 publishers ` +
        `(${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${new Date().toISOString().slice(0, 10)})\n`,
    );
    console.log(
      table(
        ['measure', 'median ms', 'p95 ms', 'min ms', 'max ms'],
        [
          ['connect + join (signaling, router caps, device load)', median(join), p95(join), Math.min(...join), Math.max(...join)],
          ['connect → first decoded remote video frame', median(frame), p95(frame), Math.min(...frame), Math.max(...frame)],
        ],
      ),
    );
    // The SDK's timeline: where the time to the first picture goes (each phase from join()).
    const phaseRows = JOIN_PHASES.map((phase) => {
      const values = timings.map((t) => t.phases[phase]).filter((v): v is number => v !== undefined);
      return [phase, median(values), p95(values), values.length];
    });
    console.log(`\nWhere the time goes (client.timings: ms from join() to each phase; the page's token fetch not included)\n`);
    console.log(
      table(['phase', 'median ms', 'p95 ms', 'n'], [...phaseRows, ['first decoded frame (page)', median(frame), p95(frame), frame.length]]),
    );
    const participants = (n: number) => 2 + n;
    console.log(`\nServer cost (Node + mediasoup workers, ${WINDOW_MS / 1000} s windows; % of one core)\n`);
    console.log(
      table(
        ['state', 'participants', 'CPU %', 'RSS MiB', 'CPU % / participant', 'RSS MiB / participant'],
        [
          [
            '2 publishers',
            participants(0),
            base.cpuPercent,
            mib(base.rssBytes),
            base.cpuPercent / participants(0),
            mib(base.rssBytes) / participants(0),
          ],
          [
            `2 publishers + ${RECEIVERS} receivers`,
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
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
