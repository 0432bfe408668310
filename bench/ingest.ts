/**
 * CPU per RTMP ingest. The server runs in this process; for each video mode an FFmpeg encoder
 * (bench/lib/rtmpPublisher.ts, standing in for OBS on another machine: its own CPU is not counted)
 * publishes a test pattern to an ingest: Baseline H.264 (passed through: `copy`) or High profile
 * with B-frames (re-encoded: `transcode`). Once the programme is live, the CPU of the ingest's two
 * FFmpeg processes (RTMP listener, relay to RTP), of this Node process (the server, idle but for the
 * relay's RtpSplice passing every packet on) and of the mediasoup workers is sampled every second.
 *
 *   npm run bench:ingest -- [--size 1280x720] [--seconds 10] [--ingests 1]
 *
 * WHIP ingest has no FFmpeg: its cost is the mediasoup worker's, as for a browser presenter.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { MediaServer } from '../server/MediaServer.js';
import type { Ingest } from '../server/ingest/Ingest.js';
import { sample, sampleTree } from './lib/procstat.js';
import { publishRtmp, type RtmpPublisher } from './lib/rtmpPublisher.js';
import { median, p95, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1280x720' },
    seconds: { type: 'string', default: '10' },
    ingests: { type: 'string', default: '1' },
  },
});
const SECONDS = Math.min(120, Number(values.seconds));
const INGESTS = Math.min(8, Number(values.ingests));

const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + (sample(pid)?.cpuSeconds ?? 0), 0);
const workerPids = () =>
  sampleTree(process.pid)
    .filter((s) => s.name.startsWith('mediasoup-work'))
    .map((s) => s.pid);

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function run(server: MediaServer, mode: 'copy' | 'transcode'): Promise<(string | number)[]> {
  const ingests: Ingest[] = [];
  const publishers: RtmpPublisher[] = [];
  try {
    for (let i = 0; i < INGESTS; i++) {
      const grant = await server.ingests!.create({
        room: { id: `bench-ingest-${mode}`, kind: 'broadcast', caseId: undefined },
        protocol: 'rtmp',
        name: `bench ${mode} ${i}`,
        site: { id: 'bench', name: 'Bench', level: 'tertiary_hospital' },
        createdBy: 'bench',
      });
      const ingest = server.ingests!.get(grant.ingest.id)!;
      ingests.push(ingest);
      await new Promise((r) => setTimeout(r, 500)); // the listener binds its port
      publishers.push(publishRtmp(grant.publishUrl, { bframes: mode === 'transcode', size: values.size }));
    }
    await until(`${mode}: every ingest live`, () => ingests.every((i) => i.state === 'live' && i.videoMode === mode), 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // past FFmpeg's start-up
    const perIngest: number[] = [];
    const node: number[] = [];
    const workers: number[] = [];
    for (let s = 0; s < SECONDS; s++) {
      const ffmpegPids = ingests.flatMap((i) => i.media?.pids?.() ?? []);
      const before = { ffmpeg: cpuOf(ffmpegPids), workers: cpuOf(workerPids()), node: process.cpuUsage() };
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      const elapsed = (performance.now() - t0) / 1000;
      perIngest.push((100 * (cpuOf(ffmpegPids) - before.ffmpeg)) / elapsed / INGESTS);
      const used = process.cpuUsage(before.node);
      node.push((100 * (used.user + used.system)) / 1e6 / elapsed / INGESTS);
      workers.push((100 * (cpuOf(workerPids()) - before.workers)) / elapsed);
    }
    // Frames the server received per second: on a loaded machine the encoders fall behind real time,
    // and fewer frames cost less; this says how far.
    const fps = median(ingests.map((i) => i.health?.frameRate ?? 0));
    return [mode, values.size!, INGESTS, fps, median(perIngest), p95(perIngest), median(node), p95(node), median(workers), p95(workers)];
  } finally {
    await Promise.all(publishers.map((p) => p.kill()));
    for (const ingest of ingests) ingest.close('benchmark done');
  }
}

const config = loadConfig({
  APP_MODE: 'development',
  LOG_LEVEL: 'warn',
  HTTP_PORT: '0',
  MEDIA_WORKERS: '1',
  DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-')),
  DATA_MIN_FREE_MB: '0',
  INGEST_HEALTH_INTERVAL_MS: '2000',
});
const server = await MediaServer.start(config, createLogger(config.logLevel));
try {
  const rows = [await run(server, 'copy'), await run(server, 'transcode')];
  console.log(
    `\nCPU per RTMP ingest (% of one core, 1 s samples over ${SECONDS} s; ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, ` +
      `load average ${os.loadavg()[0]!.toFixed(1)})\n`,
  );
  console.log(
    table(
      [
        'video',
        'size',
        'ingests',
        'fps received',
        'FFmpeg / ingest median',
        'FFmpeg / ingest p95',
        'Node / ingest median',
        'Node / ingest p95',
        'mediasoup worker median',
        'mediasoup worker p95',
      ],
      rows,
    ),
  );
} finally {
  await server.close();
}
