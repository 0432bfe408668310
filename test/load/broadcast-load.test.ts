/**
 * The broadcast load tool, small: a Chromium presenter and werift viewers ramped 2 → 4 through the
 * built server (child process). Every viewer must really receive: a complete VP8 key frame of a sane
 * size, a stream of complete frames, Opus packets, little loss; and the table must have its rows.
 * A second case checks renegotiation: a viewer waiting in an empty room gets the presenter's tracks
 * as they are published, loses them when the presenter leaves, and gets them again on return.
 *
 * Every UDP datagram and TCP connection this process opens is recorded: nothing may leave loopback
 * (werift would otherwise ask stun.l.google.com for a server-reflexive candidate).
 *
 * Needs `npm run build` (dist/ and the SDK bundle) and Chromium.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBroadcastLoad, HEADERS } from '../../bench/broadcast-load.js';
import { isLoopback } from '../../bench/lib/recvSdp.js';
import { startServerProcess, type ServerHandle } from '../../bench/lib/serverProcess.js';
import { WeriftViewer } from '../../bench/lib/WeriftViewer.js';
import { launchChromium } from '../../bench/lib/browser.js';
import { openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';

/** Destinations this process sent UDP to or opened TCP to. */
const destinations = new Set<string>();

function recordDestination(host: unknown): void {
  if (typeof host === 'string') destinations.add(host);
}

const originalSend = dgram.Socket.prototype.send;
const originalConnect = net.Socket.prototype.connect;

beforeAll(() => {
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
    const host = args.slice(1).find((a) => typeof a === 'string');
    if (host !== undefined) recordDestination(host);
    else if (args.slice(1).some((a) => typeof a === 'number')) recordDestination('localhost');
    else {
      try {
        recordDestination(this.remoteAddress().address);
      } catch {
        /* not connected: Node will raise the error itself */
      }
    }
    return (originalSend as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const [first, second] = args;
    if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
      const opts = first as { host?: string; path?: string };
      if (opts.path === undefined) recordDestination(opts.host ?? 'localhost');
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      recordDestination(typeof second === 'string' ? second : 'localhost');
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});

afterAll(() => {
  dgram.Socket.prototype.send = originalSend;
  net.Socket.prototype.connect = originalConnect;
});

const offLoopback = () => [...destinations].filter((d) => !isLoopback(d));

describe('broadcast load tool', () => {
  it('ramps werift viewers that each receive decodable VP8 and Opus, and prints one row per step', async () => {
    const printed: string[] = [];
    const result = await runBroadcastLoad({
      steps: [2, 4],
      windowMs: 2500,
      settleMs: 500,
      workers: 1,
      joinTimeoutMs: 10_000,
      print: (line) => printed.push(line),
    });

    expect(result.failures).toEqual([]);
    expect(result.rows.map((r) => [r.viewers, r.connected])).toEqual([
      [2, 2],
      [4, 4],
    ]);
    for (const row of result.rows) {
      expect(row.joinMedianMs).toBeGreaterThan(0);
      expect(row.joinMedianMs).toBeLessThan(10_000);
      expect(row.videoKbpsMedian).toBeGreaterThan(50);
      expect(row.audioKbpsMedian).toBeGreaterThan(5);
      expect(row.lossMaxPct).toBeLessThan(5);
      expect(row.workerCpu).toHaveLength(1);
      expect(row.serverRssMiB).toBeGreaterThan(10);
    }

    expect(result.viewers).toHaveLength(4);
    for (const { name, stats, iceServerUrls, localCandidateAddresses, selectedRemoteAddress } of result.viewers) {
      const v = stats.video;
      expect(stats.connectionState, name).toBe('connected');
      expect(v.keyFrames, name).toBeGreaterThanOrEqual(1);
      expect(v.corruptFrames, name).toBe(0);
      expect(v.width, name).toBeGreaterThanOrEqual(64);
      expect(v.width, name).toBeLessThanOrEqual(1920);
      expect(v.height, name).toBeGreaterThanOrEqual(48);
      expect(v.height, name).toBeLessThanOrEqual(1080);
      expect(v.frames, name).toBeGreaterThanOrEqual(10);
      expect(v.decodableFrames, name).toBeGreaterThanOrEqual(10);
      expect(stats.audio.packets, name).toBeGreaterThan(0);
      expect(v.lost + stats.audio.lost, name).toBeLessThanOrEqual(0.05 * (v.expected + stats.audio.expected));
      expect(stats.firstRtpMs!, name).toBeLessThanOrEqual(stats.firstKeyFrameMs!);
      // werift's ICE stayed on loopback: its STUN server, its candidates and the pair it uses.
      expect(iceServerUrls.length, name).toBeGreaterThan(0);
      for (const url of iceServerUrls) expect(url, name).toMatch(/^stun:127\.0\.0\.1:\d+$/);
      expect(localCandidateAddresses.length, name).toBeGreaterThan(0);
      expect(localCandidateAddresses.every(isLoopback), name).toBe(true);
      expect(selectedRemoteAddress, name).toBe('127.0.0.1');
    }

    // The table: a header, a separator and one row per step. It is printed once, a row as each step
    // ends (padded to the header's widths); result.table is the same table with all rows aligned.
    const tableRows = result.table.split('\n');
    expect(tableRows).toHaveLength(2 + 2);
    expect(tableRows[0]).toContain('join→key frame median ms');
    expect(tableRows[2]).toMatch(/^\| 2 +\| 2 +\|/);
    expect(tableRows[3]).toMatch(/^\| 4 +\| 4 +\|/);
    const progress = printed.filter((l) => /^\| \d+ +\|/.test(l));
    expect(progress).toHaveLength(2);
    expect(progress[0]).toMatch(/^\| 2 +\| 2 +\|/);
    expect(printed.filter((l) => l.startsWith(`| ${HEADERS[0]} |`))).toHaveLength(1);

    expect(destinations.has('127.0.0.1')).toBe(true); // the monitor saw werift's and Socket.IO's traffic
    expect(offLoopback()).toEqual([]);
  }, 40_000);

  describe('renegotiation', () => {
    let server: ServerHandle;
    let browser: Browser;
    let viewer: WeriftViewer | undefined;
    const ROOM = 'load-renegotiation';

    beforeAll(async () => {
      server = await startServerProcess({ MEDIA_WORKERS: '1' });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await viewer?.close();
      await browser?.close();
      await server?.stop();
    });

    const devToken = async (body: Record<string, unknown>) =>
      (
        (await (
          await fetch(`${server.url}/dev/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json()) as { token: string }
      ).token;
    const site = { id: 'site', name: 'Test Hospital', level: 'county_hospital' };

    async function presenterJoins(): Promise<Page> {
      const page = await openSdkPage(browser, server.url);
      // Functions handed to page.evaluate may call esbuild's __name helper (keepNames) when compiled by tsx.
      await page.evaluate('globalThis.__name ??= (fn) => fn');
      expect(await sdkJoin(page, { identity: 'presenter', name: 'Presenter', role: 'specialist', room: ROOM, caseId: 'CASE-LOAD' })).toBe(
        'joined',
      );
      return page;
    }

    async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(viewer?.stats())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('a viewer gets tracks published after it joined, loses them when the presenter leaves, and gets the new ones', async () => {
      const token = await devToken({
        identity: 'early-viewer',
        name: 'Early viewer',
        role: 'observer',
        room: ROOM,
        kind: 'consultation',
        caseId: 'CASE-LOAD',
        site,
      });
      viewer = await WeriftViewer.join({ url: server.url, token });
      const added: string[] = [];
      const closed: string[] = [];
      const warnings: string[] = [];
      viewer.on('consumerAdded', (c) => added.push(c.kind));
      viewer.on('consumerClosed', (id) => closed.push(id));
      viewer.on('warning', (w) => warnings.push(w));
      expect(viewer.stats().video.consumers).toBe(0);

      // Camera and microphone are published one after the other: separate renegotiations.
      const first = await presenterJoins();
      await viewer.waitForKeyFrame(10_000);
      await until(() => viewer!.stats().audio.packets > 10 && viewer!.stats().video.frames >= 10, 'audio and 10 frames');
      expect(added.sort()).toEqual(['audio', 'video']);

      // The presenter leaves: consumers close, their m-sections go inactive.
      await first.evaluate(() => (window as unknown as { t: { client: { leave(): Promise<void> } } }).t.client.leave());
      await until(() => closed.length === 2, 'both consumers closed');
      const before = viewer.stats();
      expect(before.video.consumers + before.audio.consumers).toBe(0);
      await first.context().close();

      // Back again: two new consumers (new mids) negotiated alongside the two inactive ones.
      await presenterJoins();
      await until(() => viewer!.stats().video.keyFrames > before.video.keyFrames, 'a key frame from the new camera');
      await until(
        () => viewer!.stats().audio.packets > before.audio.packets + 10 && viewer!.stats().video.frames >= before.video.frames + 10,
        'new audio and frames',
      );
      const after = viewer.stats();
      expect(after.video.consumers).toBe(1);
      expect(after.audio.consumers).toBe(1);
      expect(after.connectionState).toBe('connected');
      expect(after.video.corruptFrames).toBe(0);
      expect(warnings).toEqual([]);
      expect(offLoopback()).toEqual([]);
    }, 30_000);
  });
});
