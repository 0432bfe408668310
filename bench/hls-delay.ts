/**
 * How far behind the presenter a patient's phone is: a presenter page publishes a canvas on which
 * every frame carries the wall-clock time (24 bits of milliseconds as black and white blocks); the
 * programme page reads the blocks of the frame on screen every 20 ms and, for each new one, compares
 * them with the time now. Browsers, server and FFmpeg share this machine's clock.
 * Rows: the page's three players — hls.js, the browser's own HLS player (this Chromium has one), and
 * WebRTC with a viewer token, for comparison.
 *
 *   npm run bench:hls-delay -- [--seconds 30] [--warmup 8] [--single-layer]
 */
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './lib/browser.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServerProcess, type ServerHandle as MediaServer } from './lib/serverProcess.js';
import { sdkJoin } from './lib/sdkPage.js';
import { median, p95, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '8' },
    // One 720p layer instead of the SDK's simulcast, as a WHIP encoder or an SDK page with simulcast off sends.
    'single-layer': { type: 'boolean', default: false },
  },
});
const SECONDS = Math.min(600, Number(values.seconds));
const WARMUP = Math.min(120, Number(values.warmup));
const ROOM = 'bench-hls-delay';
const SITE = { id: 'bench-zs', name: '中山大学附属第一医院', level: 'tertiary_hospital' as const };

/** Layout of the time code on a 640 × 360 frame: 3 rows of 8 blocks, 64 px each, most significant bit first. */
// tsx compiles with esbuild's keepNames: functions handed to the page call its __name helper.
const KEEP_NAMES = 'globalThis.__name ??= (fn) => fn';

const CODE = { width: 640, height: 360, x: 32, y: 32, size: 64, columns: 8, bits: 24 };

async function mint(server: MediaServer, role: string, identity: string, name: string): Promise<string> {
  const res = await fetch(`${server.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity, name, role, room: ROOM, kind: 'broadcast', site: SITE }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** The presenter's camera is a canvas showing the time code (and a moving bar, so the encoder has work). */
async function presenter(browser: Browser, server: MediaServer): Promise<Page> {
  const context = await browser.newContext();
  await context.addInitScript(KEEP_NAMES);
  await context.addInitScript((code) => {
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      if (!constraints?.video) return original(constraints);
      const canvas = Object.assign(document.createElement('canvas'), { width: code.width, height: code.height });
      const g = canvas.getContext('2d')!;
      setInterval(() => {
        const now = Date.now() % 2 ** code.bits;
        g.fillStyle = '#808080';
        g.fillRect(0, 0, code.width, code.height);
        g.fillStyle = '#3060a0';
        g.fillRect((now / 5) % code.width, 280, 40, 60);
        for (let bit = 0; bit < code.bits; bit++) {
          g.fillStyle = (now >> (code.bits - 1 - bit)) & 1 ? '#fff' : '#000';
          g.fillRect(code.x + (bit % code.columns) * code.size, code.y + Math.floor(bit / code.columns) * code.size, code.size, code.size);
        }
      }, 1000 / 30);
      return canvas.captureStream(30);
    };
  }, CODE);
  const page = await context.newPage();
  await page.goto(`${server.url}/sdk-test.html`);
  const token = await mint(server, 'presenter', 'bench-presenter', '陈静');
  await sdkJoin(page, {
    identity: 'bench-presenter',
    name: '陈静',
    role: 'presenter',
    room: ROOM,
    kind: 'broadcast',
    token,
    publish: false,
  });
  // Simulcast by default, as the SDK publishes cameras.
  await page.evaluate(
    (single) =>
      (window as unknown as { t: { client: { publishCamera(o: object): Promise<unknown> } } }).t.client.publishCamera(
        single ? { simulcast: false } : {},
      ),
    values['single-layer'],
  );
  return page;
}

/** The programme page on a phone, playing with `player`; resolves with its delays (ms) over the window. */
async function watch(browser: Browser, server: MediaServer, player: 'hlsjs' | 'native' | 'webrtc'): Promise<number[]> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await context.addInitScript(KEEP_NAMES);
  try {
    if (player === 'hlsjs')
      await context.addInitScript(() => {
        const canPlayType = HTMLMediaElement.prototype.canPlayType;
        HTMLMediaElement.prototype.canPlayType = function (type: string) {
          return /mpegurl/i.test(type) ? '' : canPlayType.call(this, type);
        };
      });
    const page = await context.newPage();
    const hash = player === 'webrtc' ? `#token=${await mint(server, 'viewer', 'bench-viewer', '刘洋')}` : '';
    await page.goto(`${server.url}/watch/${ROOM}${hash}`);
    await page.waitForFunction((kind) => document.getElementById('playback')?.dataset['kind'] === kind, player, { timeout: 90_000 });
    // Playing, not just chosen: the first HLS segments take a few seconds to be written.
    await page.waitForFunction(
      () => {
        const v = document.getElementById('player') as HTMLVideoElement;
        return v.videoWidth > 0 && !v.paused && v.currentTime > 1;
      },
      undefined,
      { timeout: 90_000 },
    );
    await page.waitForTimeout(WARMUP * 1000);
    return await page.evaluate(
      ({ code, seconds }) =>
        new Promise<number[]>((resolve) => {
          const video = document.getElementById('player') as HTMLVideoElement;
          const canvas = Object.assign(document.createElement('canvas'), { width: code.width, height: code.height });
          const g = canvas.getContext('2d', { willReadFrequently: true })!;
          const delays: number[] = [];
          const end = performance.now() + seconds * 1000;
          let last = -1;
          // Polled rather than per presented frame: requestVideoFrameCallback hardly fires for an MSE
          // source in headless Chromium. A new code on screen is a new frame, seen within 20 ms.
          const timer = setInterval(() => {
            if (video.videoWidth === 0) return; // between two players (a restart)
            g.drawImage(video, 0, 0, code.width, code.height);
            const now = Date.now() % 2 ** code.bits;
            let stamp = 0;
            for (let bit = 0; bit < code.bits; bit++) {
              const x = code.x + (bit % code.columns) * code.size + code.size / 2;
              const y = code.y + Math.floor(bit / code.columns) * code.size + code.size / 2;
              stamp = stamp * 2 + (g.getImageData(x, y, 1, 1).data[0]! > 128 ? 1 : 0);
            }
            if (stamp !== last) delays.push((now - stamp + 2 ** code.bits) % 2 ** code.bits);
            last = stamp;
            if (performance.now() > end) {
              clearInterval(timer);
              resolve(delays);
            }
          }, 20);
        }),
      { code: CODE, seconds: SECONDS },
    );
  } finally {
    await context.close();
  }
}

// The built server as a child process, as the other benchmarks run it, on a temporary data folder.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'telemed-hls-delay-'));
const server = await startServerProcess({ DATA_DIR: dataDir });
const browser = await launchChromium();
try {
  const lead = await mint(server, 'lead_specialist', 'bench-lead', '周慧');
  const saved = await fetch(`${server.url}/api/programmes/${ROOM}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${lead}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: '延迟测量',
      description: '',
      scheduledStart: new Date().toISOString(),
      presenterName: '陈静',
      hospital: SITE.name,
      visibility: 'public',
      replay: { allowed: false, retentionDays: 1 },
    }),
  });
  if (!saved.ok) throw new Error(`programme not saved: ${saved.status} ${await saved.text()}`);
  await presenter(browser, server);
  const rows: (string | number)[][] = [];
  for (const player of ['hlsjs', 'native', 'webrtc'] as const) {
    // A frame whose code was misread (an encoder smear across a block edge) shows as an absurd delay.
    const raw = await watch(browser, server, player);
    const delays = raw.filter((d) => d < 60_000);
    rows.push([player, delays.length, median(delays) / 1000, p95(delays) / 1000, Math.max(...delays) / 1000]);
  }
  console.log(`\nDelay behind the presenter (s), ${SECONDS} s per player after ${WARMUP} s of warm-up, 1 s HLS segments\n`);
  console.log(table(['player', 'frames', 'median', 'p95', 'max'], rows));
} finally {
  await browser.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
