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
 *
 * The parts, in ./lib/: broadcastOptions.ts (options, command line), broadcastPresenter.ts,
 * broadcastStep.ts (joins and the measured window), localCpu.ts, broadcastTable.ts (the table).
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from './lib/browser.js';
import { checkedSteps, DEFAULTS, parseCli, watchdogMs, type BroadcastLoadOptions } from './lib/broadcastOptions.js';
import { presenterJoins } from './lib/broadcastPresenter.js';
import { runStep, type NamedViewer } from './lib/broadcastStep.js';
import { summaryTable, tableHead, tableRow, type StepRow } from './lib/broadcastTable.js';
import { startServerProcess, type ServerHandle } from './lib/serverProcess.js';
import type { ViewerStats } from './lib/WeriftViewer.js';

export { DEFAULTS, MAX_VIEWERS, type BroadcastLoadOptions } from './lib/broadcastOptions.js';
export { HEADERS, type StepRow } from './lib/broadcastTable.js';

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

export async function runBroadcastLoad(partial: Partial<BroadcastLoadOptions> = {}): Promise<BroadcastLoadResult> {
  const o: BroadcastLoadOptions = { ...DEFAULTS, ...partial };
  const print = o.print ?? ((line: string) => console.log(line));
  const steps = checkedSteps(o.steps);
  const room = `bench-broadcast-${Date.now().toString(36)}`;
  const viewers: NamedViewer[] = [];
  const failures: string[] = [];
  const rows: StepRow[] = [];
  let attempted = 0; // viewers started, joined or not: names (identities) are never reused
  let server: ServerHandle | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServerProcess({ ...o.serverEnv, MEDIA_WORKERS: String(o.workers) });
    browser = await launchChromium();
    await presenterJoins(browser, server.url, o, room);

    print(
      `\nBroadcast load — ${o.kind} room, presenter ${o.presenterRole} (Chromium, simulcast camera + mic), viewers ${o.viewerRole} (werift); ` +
        `${os.cpus().length} cores, ${o.workers} worker(s), ${o.windowMs / 1000} s windows, ${new Date().toISOString().slice(0, 10)}`,
    );
    print(
      'CPU in % of one core; kbps, fps and loss per viewer over the window (median); ' +
        'join time = signaling connect → first complete VP8 key frame, for the viewers added in that step.\n',
    );
    for (const line of tableHead()) print(line);

    const ctx = { server, options: o, room, viewers, failures };
    for (const target of steps) {
      const names = Array.from({ length: target - attempted }, (_, i) => `viewer-${attempted + i + 1}`);
      attempted = target;
      const row = await runStep(ctx, target, names);
      rows.push(row);
      print(tableRow(row));
    }
    print('');

    if (failures.length)
      print(
        `Problems (${failures.length}):\n${failures
          .slice(0, 20)
          .map((f) => `  - ${f}`)
          .join('\n')}`,
      );
    return {
      rows,
      table: summaryTable(rows),
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

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  const bound = watchdogMs(options);
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
