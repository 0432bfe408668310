/**
 * A health-education broadcast across three nodes (separate server processes on a real
 * redis-server): the presenter (a werift camera publishing FFmpeg's VP8 test pattern) and the
 * moderator are on node A, the origin. Viewers (werift: ICE, DTLS, SRTP, RTCP — a browser's wire
 * without the pixels) join through random entry nodes; once A's viewer seats
 * (BROADCAST_VIEWERS_PER_NODE) are taken, A sends new ones to edges B and C, which are fed by one
 * PipeTransport pair each (SRTP, RTX) with the camera piped on first demand. Every viewer receives
 * the camera (a complete VP8 key frame, then a growing packet count); the viewer count everyone is
 * told is the whole room's; a question asked on an edge reaches the moderator on the origin. Then
 * C is killed (`kill -9`): its viewers, rejoining through the entry as the SDK would, receive
 * again within 5 s, and the viewers on A and B see no gap over 1 s.
 *
 * One more viewer is the SDK in headless Chromium, entering through A: it lands on an edge, decodes
 * the camera there, and the edge it is on is the one killed; the SDK's own recovery (its entry is A)
 * must have it decoding again within 5 s.
 *
 * BROADCAST_EDGE_VIEWERS sets the number of werift viewers (default 60, the figure; fewer for a quick run).
 */
import jwt from 'jsonwebtoken';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { contextWithSourceSdk, pathStats, sdkJoin, type PathStats } from '../../bench/lib/sdkPage.js';
import { WeriftViewer } from '../../bench/lib/WeriftViewer.js';
import type { NotificationMap, Role, SiteLevel } from '../../signaling/protocol/index.js';
import { signLinkToken } from '../../server/cluster/edges/linkToken.js';
import { startLocalCluster, type LocalCluster, type NodeProcess } from '../helpers/clusterProcesses.js';
import { startPresenter, type PresenterProcess } from '../helpers/presenterProcess.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';

const VIEWERS = Number(process.env['BROADCAST_EDGE_VIEWERS'] ?? 60);
/** About a third of the audience per node, and a spare: A fills first, then B and C share the rest. */
const SEATS = Math.ceil(VIEWERS / 3) + 1;
const ROOM = 'jiankang-jiangtang-2026-11-30';
const SURNAMES = ['张', '王', '李', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙'];
const GIVEN = ['伟', '静', '娜', '洋', '杰', '帆', '敏', '磊', '婷', '昊'];

let cluster: LocalCluster | undefined;
let nodes: NodeProcess[] = [];
let moderator: TestClient | undefined;
let presenter: PresenterProcess | undefined;
const viewers: WeriftViewer[] = [];
let browser: Browser | undefined;
/** The SDK viewer in Chromium, and the node its signaling connection went to last. */
let page: Page | undefined;
let pageNode = '';

function tokenFor(sub: string, name: string, role: Role, site: { id: string; name: string; level: SiteLevel }): string {
  return jwt.sign({ sub, name, role, site, room: ROOM, kind: 'broadcast' }, cluster!.secret, {
    algorithm: 'HS256',
    audience: 'telemed-sfu',
    expiresIn: 600,
  });
}

function viewerToken(i: number): string {
  const name = `${SURNAMES[i % SURNAMES.length]}${GIVEN[Math.floor(i / SURNAMES.length) % GIVEN.length]}`;
  return tokenFor(`villager-${i}`, name, 'viewer', { id: `xz-${i % 5}`, name: `城关镇卫生院${i % 5}`, level: 'township_health_centre' });
}

const nodeOf = (viewer: WeriftViewer): NodeProcess => nodes.find((n) => n.url === viewer.url)!;

/** A viewer that joins through `entry` (following MOVED) and consumes nothing. */
async function joinIdleViewer(entry: NodeProcess): Promise<{ client: TestClient; url: string }> {
  const jwt = viewerToken(999);
  let url = entry.url;
  for (let hops = 0; ; hops++) {
    try {
      const client = await connect(url, jwt, { hops });
      const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
      expect(ok(await client.request('join', { rtpCapabilities })).status).toBe('joined');
      return { client, url };
    } catch (error) {
      const route = (error as { wire?: { code?: string; details?: Record<string, string> } }).wire?.details?.['route'];
      if (!route || hops >= 2) throw error;
      url = route;
    }
  }
}

/** One figure of a node's /metrics. */
async function metric(node: NodeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in ${node.id}'s /metrics`);
  return Number(line.slice(name.length + 1));
}

/** Resolves once `read` gives `want`, or rejects with what it gave after `timeoutMs`. */
async function until<T>(read: () => T, want: T, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (read() !== want) {
    if (Date.now() > deadline) throw new Error(`${what}: ${String(read())} after ${timeoutMs} ms, not ${String(want)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Joins through a random living entry node (following MOVED, as the SDK does). */
function joinViewer(i: number, entries: NodeProcess[]): Promise<WeriftViewer> {
  const entry = entries[Math.floor(Math.random() * entries.length)]!;
  return WeriftViewer.join({ url: entry.url, token: viewerToken(i), joinTimeoutMs: 15_000 });
}

/** Resolves once `viewer`'s video packet count has grown past `beyond`. */
async function receivesMore(viewer: WeriftViewer, beyond: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (viewer.stats().video.packets <= beyond) {
    if (Date.now() > deadline) throw new Error(`no new video packets within ${timeoutMs} ms (${viewer.stats().video.packets})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Frames of the camera decoded on the tracks the SDK holds now. */
const decoded = (stats: PathStats) => stats.inbound.filter((i) => i.kind === 'video').reduce((n, i) => n + i.framesDecoded, 0);

/** The SDK test page of node A with the SDK built from the sources under test; notes where its socket goes. */
async function openViewerPage(a: NodeProcess): Promise<Page> {
  const context = await contextWithSourceSdk(browser!);
  const opened = await context.newPage();
  opened.on('pageerror', (e) => console.error('[page error]', e));
  opened.on('websocket', (ws) => (pageNode = new URL(ws.url()).host));
  await opened.goto(`${a.url}/sdk-test.html`);
  return opened;
}

beforeAll(async () => {
  browser = await launchChromium();
  cluster = await startLocalCluster(['node-a', 'node-b', 'node-c'], {
    BROADCAST_VIEWERS_PER_NODE: String(SEATS),
    // Small routers: each node spreads its viewers over several viewer routers too.
    BROADCAST_CONSUMERS_PER_ROUTER: '4',
    ROOM_EMPTY_LINGER_SECONDS: '30',
    LOG_LEVEL: process.env['EDGE_TEST_LOG_LEVEL'] ?? 'warn',
  });
  nodes = cluster.nodes;
  const a = nodes[0]!;
  // The moderator opens the room on A (hops 1: "already sent here", so A claims it).
  moderator = await connect(
    a.url,
    tokenFor('wang-fang', '王芳', 'lead_specialist', { id: 'slyy', name: '省立医院', level: 'tertiary_hospital' }),
    { hops: 1 },
  );
  const { rtpCapabilities } = ok(await moderator.request('getRouterRtpCapabilities', {}));
  expect(ok(await moderator.request('join', { rtpCapabilities })).status).toBe('joined');
  presenter = await startPresenter(
    a.url,
    tokenFor('li-ming', '李明', 'presenter', { id: 'slyy', name: '省立医院', level: 'tertiary_hospital' }),
  );
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(viewers.map((v) => v.close()));
  moderator?.close();
  await presenter?.stop();
  await cluster?.stop();
}, 30_000);

describe('a broadcast across an origin and two edges', () => {
  it('places viewers on A, then B and C; all receive; whole-room count; Q&A reaches the origin', async () => {
    // A few at a time, through random entries, as an audience arrives.
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const joinUpTo = async (end: number) => {
      for (let i = viewers.length; i < end; i += 3) {
        const batch = await Promise.all([i, i + 1, i + 2].filter((j) => j < end).map((j) => joinViewer(j, nodes)));
        viewers.push(...batch);
      }
    };
    await joinUpTo(SEATS);
    // A is full. A viewer that joins but consumes nothing opens an edge: a link and its pipe pair,
    // and nothing piped over it (producers are piped when an edge viewer first consumes them).
    const { client: idle, url: idleOn } = await joinIdleViewer(a);
    expect(idleOn).not.toBe(a.url);
    expect(await metric(a, 'telemed_edge_links')).toBe(1);
    expect(await metric(a, 'telemed_edge_piped_producers')).toBe(0);
    // On the edge, requests pass the same gates: the schema there, the origin's permissions for the rest.
    const code = (ack: { ok: boolean; error?: { code: string } }) => (ack.ok ? 'ok' : ack.error!.code);
    expect(code(await idle.raw('consume', { producerId: 5, transportId: 'x' }))).toBe('BAD_REQUEST');
    expect(code(await idle.raw('takeOver', {}))).toBe('BAD_REQUEST');
    expect(code(await idle.request('createTransport', { direction: 'send' }))).toBe('FORBIDDEN');
    expect(code(await idle.request('sendChat', { text: '我也想说话' }))).toBe('FORBIDDEN');
    expect(code(await idle.request('endRoom', {}))).toBe('FORBIDDEN');
    // Its own media is the edge's to answer for: a receive transport made and closed there.
    const recv = ok(await idle.request('createTransport', { direction: 'recv' }));
    ok(await idle.request('closeTransport', { transportId: recv.id }));
    expect(code(await idle.request('closeTransport', { transportId: recv.id }))).toBe('NOT_FOUND');
    ok(await idle.request('leave', {}));
    idle.close();
    await joinUpTo(VIEWERS);
    // One link (and pipe pair) per edge; the camera piped once to each.
    expect(await metric(a, 'telemed_edge_links')).toBe(2);
    expect(await metric(a, 'telemed_edge_piped_producers')).toBe(2);
    expect(await metric(b, 'telemed_edge_relayed_viewers')).toBeGreaterThan(0);
    const on = (node: NodeProcess) => viewers.filter((v) => nodeOf(v) === node).length;
    expect(on(a) + on(b) + on(c)).toBe(VIEWERS);
    expect(on(a), 'the origin keeps viewers up to its seats').toBe(SEATS);
    expect(on(b), 'edge B hosts viewers').toBeGreaterThan(0);
    expect(on(c), 'edge C hosts viewers').toBeGreaterThan(0);

    await Promise.all(viewers.map((v) => v.waitForKeyFrame(15_000)));
    const before = viewers.map((v) => v.stats().video.packets);
    await Promise.all(viewers.map((v, i) => receivesMore(v, before[i]! + 10, 5000)));

    // The count the moderator and an edge viewer are told is the whole audience.
    const edgeViewer = viewers.find((v) => nodeOf(v) === c)!;
    const counted = async (read: () => number | undefined) => {
      const deadline = Date.now() + 5000;
      while (read() !== VIEWERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return read();
    };
    const lastCount = (payloads: { name: string; payload: unknown }[]) =>
      (payloads.filter((n) => n.name === 'viewerCount').at(-1)?.payload as NotificationMap['viewerCount'] | undefined)?.count;
    expect(await counted(() => lastCount(moderator!.received))).toBe(VIEWERS);
    expect(await counted(() => (edgeViewer.notifications.get('viewerCount') as { count: number } | undefined)?.count)).toBe(VIEWERS);

    // A question asked on edge C reaches the moderator on the origin.
    const text = '手术后多久可以吃米饭？';
    const seen = moderator!.next('questionUpdated', ({ question }) => question.text === text, 5000);
    const { question } = await edgeViewer.request('askQuestion', { text });
    expect(question.status).toBe('pending');
    expect((await seen).question.id).toBe(question.id);

    // The SDK in Chromium, entering through A (full): relayed by an edge, it decodes the camera there.
    page = await openViewerPage(a);
    const joined = await sdkJoin(page, {
      identity: 'zhou-ting',
      name: '周婷',
      role: 'viewer',
      room: ROOM,
      kind: 'broadcast',
      caseId: null,
      site: { id: 'hq', name: '红旗村卫生室', level: 'village_clinic' },
      url: a.url,
      publish: false,
    });
    expect(joined).toBe('joined');
    expect(
      [b.url, c.url].map((u) => new URL(u).host),
      'the SDK viewer is on an edge',
    ).toContain(pageNode);
    await page.evaluate(() => {
      const t = (window as unknown as { t: { client: { on(e: string, f: (s: string) => void): void }; log: [string, number][] } }).t;
      t.log = [];
      t.client.on('connectionStateChanged', (state) => t.log.push([state, Date.now()]));
    });
    const first = decoded(await pathStats(page));
    await expect.poll(async () => decoded(await pathStats(page!)), { timeout: 15_000, interval: 300 }).toBeGreaterThan(first + 5);
  }, 120_000);

  it('the SDK viewer on an edge, brought on stage, is seen everywhere; sent back, its camera closes everywhere', async () => {
    const a = nodes[0]!;
    type T = { t: { client: { self: { id: string }; can(p: string): boolean; publishCamera(o: object): Promise<unknown> } } };
    const stageId = await page!.evaluate(() => (window as unknown as T).t.client.self.id);
    ok(await moderator!.request('setOnStage', { participantId: stageId, onStage: true }));
    await page!.waitForFunction(() => (window as unknown as T).t.client.can('publish_video'), undefined, { timeout: 5000 });
    // Published on its edge, piped to the origin, published there as the viewer's, and relayed on.
    await page!.evaluate(() =>
      (window as unknown as T).t.client.publishCamera({ constraints: { width: 320, height: 240, frameRate: 15 } }),
    );
    // A werift viewer on each node: on A, on the SDK viewer's edge and on the other edge.
    const sample = nodes.map((n) => viewers.find((v) => nodeOf(v) === n && !v.closed)!);
    expect(sample.every(Boolean)).toBe(true);
    const stageCamera = (v: WeriftViewer) => v.consumed().find((c) => c.participantId === stageId && c.kind === 'video');
    await Promise.all(sample.map((v) => until(() => (stageCamera(v)?.packets ?? 0) > 20, true, 15_000, `stage camera on ${nodeOf(v).id}`)));
    expect(nodeOf(sample[0]!)).toBe(a);
    ok(await moderator!.request('setOnStage', { participantId: stageId, onStage: false }));
    await Promise.all(sample.map((v) => until(() => stageCamera(v), undefined, 5000, `stage camera gone on ${nodeOf(v).id}`)));
  }, 30_000);

  it('the /edge link takes only link tokens, and a link token opens no client session', async () => {
    const a = nodes[0]!;
    const keys = { secrets: [cluster!.secret], algorithm: 'HS256' as const, audience: 'telemed-sfu', issuer: undefined };
    const refusal = (url: string, token: string) =>
      new Promise<string>((resolve) => {
        const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
        socket.once('connect', () => {
          socket.close();
          resolve('connected');
        });
        socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
          socket.close();
          resolve(error.data?.code ?? error.message);
        });
      });
    expect(await refusal(`${a.url}/edge`, viewerToken(900)), 'a viewer token on the link').toBe('UNAUTHENTICATED');
    expect(await refusal(a.url, signLinkToken(keys, 'node-x', ROOM)), 'a link token as a client').toBe('UNAUTHENTICATED');
    expect(await refusal(`${a.url}/edge`, signLinkToken({ ...keys, secrets: ['x'.repeat(32)] }, 'node-x', ROOM))).toBe('UNAUTHENTICATED');
    expect(await refusal(`${a.url}/edge`, signLinkToken(keys, 'node-x', ROOM)), 'a valid link token').toBe('connected');
  });

  it('pause and resume of the camera reach the edges: a viewer joining an edge meanwhile gets it paused, then playing', async () => {
    const a = nodes[0]!;
    const camera = presenter!.producerId;
    const edgeViewer = viewers.find((v) => nodeOf(v) !== a)!;
    await presenter!.pause();
    await until(
      () => (edgeViewer.notifications.get('producerPaused') as { producerId?: string } | undefined)?.producerId,
      camera,
      5000,
      'paused seen on an edge',
    );
    // The spare seat of an edge: A is full, so the newcomer is relayed.
    const extra = await joinViewer(VIEWERS, nodes);
    viewers.push(extra);
    expect(nodeOf(extra)).not.toBe(a);
    expect(
      extra.consumed().map((c) => [c.producerId, c.producerPaused]),
      'the edge consumed the camera paused',
    ).toEqual([[camera, true]]);
    await presenter!.resume();
    await extra.waitForKeyFrame(5000);
    const before = viewers.map((v) => v.stats().video.packets);
    await Promise.all(viewers.map((v, i) => receivesMore(v, before[i]! + 5, 5000)));
  }, 30_000);

  it('kill -9 of the edge with the SDK viewer: its viewers receive again within 5 s via the entry; the others see no gap over 1 s', async () => {
    // The edge the SDK viewer is on is the one killed ("C"); the other edge is "B".
    const c = nodes.find((n) => new URL(n.url).host === pageNode)!;
    const [a, b] = nodes.filter((n) => n !== c) as [NodeProcess, NodeProcess];
    expect(a).toBe(nodes[0]);
    const survivors = viewers.filter((v) => nodeOf(v) !== c);
    const orphans = viewers.filter((v) => nodeOf(v) === c);
    expect(orphans.length).toBeGreaterThan(0);
    // Largest gap between two increases of each survivor's packet count, from just before the kill.
    // Time during which this process could not look (its event loop busy, e.g. with the orphans'
    // DTLS handshakes) is not counted: what arrived meanwhile waited in the socket buffers, and the
    // loss check below tells whether anything went missing on the way.
    let lastTick = Date.now();
    const gaps = survivors.map(() => ({ last: Date.now(), blind: 0, max: 0, packets: -1 }));
    const lostBefore = survivors.map((v) => v.stats().video.lost);
    const rejoinedAfter: number[] = [];
    let sdkBackAfter: number | undefined;
    const sampler = setInterval(() => {
      const now = Date.now();
      const blind = Math.max(0, now - lastTick - 50);
      lastTick = now;
      survivors.forEach((v, i) => {
        const g = gaps[i]!;
        g.blind += blind;
        const packets = v.stats().video.packets;
        if (packets > g.packets) {
          if (g.packets >= 0) g.max = Math.max(g.max, now - g.last - g.blind);
          g.packets = packets;
          g.last = now;
          g.blind = 0;
        }
      });
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const killedAt = Date.now();
      await c.kill();
      // Each orphan notices its node is gone and rejoins through a living entry (the SDK's recovery).
      const rejoined = await Promise.all(
        orphans.map(async (old) => {
          const index = viewers.indexOf(old);
          while (!old.closed && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 20));
          const fresh = await joinViewer(index, [a, b]);
          viewers[index] = fresh;
          await receivesMore(fresh, 0, 5000 - (Date.now() - killedAt));
          return { node: nodeOf(fresh), after: Date.now() - killedAt };
        }),
      );
      // The SDK found its way back by itself (its entry is A), and decodes the camera again.
      await page!.waitForFunction(
        (since) => {
          const t = (window as unknown as { t: { client: { connectionState: string }; log: [string, number][] } }).t;
          return t.client.connectionState === 'connected' && t.log.some(([state, at]) => state === 'moving' && at >= since);
        },
        killedAt,
        { timeout: Math.max(500, killedAt + 5000 - Date.now()), polling: 100 },
      );
      await expect
        .poll(async () => decoded(await pathStats(page!)), { timeout: Math.max(500, killedAt + 5000 - Date.now()), interval: 100 })
        .toBeGreaterThan(0);
      sdkBackAfter = Date.now() - killedAt;
      expect(sdkBackAfter, 'the SDK viewer decodes again within 5 s of the kill').toBeLessThanOrEqual(5000);
      expect([a, b].map((n) => new URL(n.url).host)).toContain(pageNode);
      rejoinedAfter.push(...rejoined.map((r) => r.after));
      for (const { node, after } of rejoined) {
        expect([a, b]).toContain(node);
        expect(after, 'an orphan receives again within 5 s of the kill').toBeLessThanOrEqual(5000);
      }
      // The survivors kept receiving: a second of samples after everyone is back.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      clearInterval(sampler);
    }
    const worst = Math.max(...gaps.map((g) => Math.max(g.max, Date.now() - g.last - g.blind)));
    console.log(
      `[broadcast-edges] ${VIEWERS} werift viewers + 1 SDK viewer; kill -9 of an edge: ${orphans.length} werift viewers back at ` +
        `${rejoinedAfter.join('/')} ms, the SDK viewer at ${sdkBackAfter} ms; worst gap on A and B ${worst} ms`,
    );
    expect(worst, 'largest gap seen by a viewer on A or B (ms)').toBeLessThanOrEqual(1000);
    // The camera sends about 30 packets a second: a second's gap on the server's side would lose ~30.
    const lost = survivors.map((v, i) => v.stats().video.lost - lostBefore[i]!);
    expect(Math.max(...lost), 'packets lost by a viewer on A or B meanwhile').toBeLessThanOrEqual(10);
    for (const v of survivors) expect(v.closed).toBe(false);
  }, 60_000);

  it('closing the camera closes it on the edge: its viewers are told their consumer closed', async () => {
    const b = nodes.find((n, i) => i > 0 && viewers.some((v) => nodeOf(v) === n && !v.closed))!;
    const onB = viewers.filter((v) => nodeOf(v) === b && !v.closed);
    expect(onB.length).toBeGreaterThan(0);
    await presenter!.closeCamera();
    const closedFor = (v: WeriftViewer) => (v.notifications.get('consumerClosed') as { producerId?: string } | undefined)?.producerId;
    await Promise.all(onB.map((v) => until(() => closedFor(v), presenter!.producerId, 5000, 'consumerClosed on the edge')));
  });

  it('kill -9 of the origin: the edge tells its viewers the broadcast moved, so they rejoin through the entry', async () => {
    const a = nodes[0]!;
    const onEdges = viewers.filter((v) => nodeOf(v) !== a && !v.closed);
    expect(onEdges.length).toBeGreaterThan(0);
    const reasons = onEdges.map((v) => new Promise<string>((resolve) => v.once('closed', resolve)));
    await a.kill();
    const told = await Promise.all(
      reasons.map((r) => Promise.race([r, new Promise<string>((res) => setTimeout(() => res('not told within 3 s'), 3000))])),
    );
    expect(new Set(told)).toEqual(new Set(['session ended: room_moved']));
  });
});
