/**
 * The node serving a consultation dies (`kill -9`, its mediasoup worker with it) and the SDK brings
 * every participant back by itself: two cluster nodes as separate server processes on a real
 * redis-server, three headless Chromium pages using the SDK bundle, all joined through node A's URL
 * (the entry) while the room is served by node B. After B is killed, each page shows 'moving', joins
 * again through A — which takes the room over with a new epoch once B's lease expired — republishes
 * its camera and microphone (and a shared image the lead had paused, still paused), and decodes the
 * others' video and hears the others' audio again (WebRTC getStats on the new tracks), within 20 s.
 * What the room was goes with it: the person the lead removed is still refused, the lock holds (the
 * two come back in, a newcomer waits), and the recording goes on as a new part linked to the first
 * (every page told again). When B comes back on its data folder, the part it was recording when it
 * died reaches the hospital's webhook, once.
 */
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { contextWithSourceSdk, pathStats, sdkJoin, waitForStats, type PathStats } from '../../bench/lib/sdkPage.js';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { startLocalCluster, type LocalCluster, type NodeProcess } from '../helpers/clusterProcesses.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/caseRecordReceivers.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';

const ROOM = 'mdt-rejoin-hcc-0107';
const WANG = {
  identity: 'wang-fang',
  name: '王芳',
  role: 'lead_specialist',
  site: { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' },
} as const;
const ZHAO = {
  identity: 'zhao-lei',
  name: '赵磊',
  role: 'clinic_doctor',
  site: { id: 'apx', name: '安平县医院', level: 'county_hospital' },
} as const;
const LI = {
  identity: 'li-qiang',
  name: '李强',
  role: 'specialist',
  site: { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' },
} as const;
const CAMERA = { width: 320, height: 240, frameRate: 15 };

let cluster: LocalCluster | undefined;
let browser: Browser | undefined;
let redis: Redis | undefined;
let claim: TestClient | undefined;
let nodeA: NodeProcess;
let nodeB: NodeProcess;
let webhook: WebhookReceiver | undefined;

beforeAll(async () => {
  webhook = await webhookReceiver();
  await webhook.start();
  cluster = await startLocalCluster(['node-a', 'node-b'], {
    ROOM_EMPTY_LINGER_SECONDS: '0',
    CASE_RECORD_SINKS: 'filesystem,webhook',
    WEBHOOK_URL: webhook.url,
    WEBHOOK_SECRET: webhook.secret,
    OUTBOX_RETRY_BASE_MS: '100',
    DRAIN_DEADLINE_SECONDS: '2',
  });
  [nodeA, nodeB] = cluster.nodes as [NodeProcess, NodeProcess];
  redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: 1 });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  claim?.close();
  await browser?.close();
  redis?.disconnect();
  await cluster?.stop(); // both nodes (the killed one's leftovers too) and redis-server
  await webhook?.stop();
});

/** The room's owner lease in Redis: "<node>|<epoch>". */
async function owner(room = ROOM): Promise<{ node: string; epoch: number } | null> {
  const value = await redis!.get(new ClusterKeys(cluster!.namespace).roomOwner(room));
  if (!value) return null;
  const [node, epoch] = value.split('|');
  return { node: node!, epoch: Number(epoch) };
}

/** An access token for this consultation, minted by node A's development endpoint (any node's secret is the cluster's). */
async function mint(
  identity: string,
  name: string,
  role: string,
  site: { id: string; name: string; level: string },
  room = ROOM,
): Promise<string> {
  const response = await fetch(`${nodeA.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity, name, role, room, kind: 'consultation', caseId: 'CASE-HCC-0107', site }),
  });
  return ((await response.json()) as { token: string }).token;
}

const VILLAGE = { id: 'hq', name: '红旗村卫生室', level: 'village_clinic' };

/** What the page's SDK knows of the room: its lock and the recording in progress. */
function roomState(page: Page): Promise<{ locked: boolean; recording: { sessionId: string; continues: string | null } | null }> {
  return page.evaluate(() => {
    type Client = { roomLocked: boolean; recording: { current: { sessionId: string; continues: string | null } | null } };
    const client = (window as unknown as { t: { client: Client } }).t.client;
    return { locked: client.roomLocked, recording: client.recording.current };
  });
}

/** A page of node A (the entry) whose SDK script is the bundle built above. */
async function openPage(): Promise<Page> {
  // The SDK as the script tag serves it, built from the sources under test (no build step needed).
  const context = await contextWithSourceSdk(browser!);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${nodeA.url}/sdk-test.html`);
  return page;
}

/** Records, with times, what the SDK tells the page about its connection and its tracks. */
function watch(page: Page): Promise<void> {
  return page.evaluate(() => {
    const t = (window as unknown as { t: { client: { on(e: string, f: (...a: unknown[]) => void): void }; log: unknown[][] } }).t;
    t.log = [];
    t.client.on('connectionStateChanged', (state) => t.log.push(['state', state, Date.now()]));
    t.client.on('trackAdded', (track) => t.log.push(['trackAdded', (track as { kind: string }).kind, Date.now()]));
    t.client.on('trackRemoved', (track) => t.log.push(['trackRemoved', (track as { kind: string }).kind, Date.now()]));
    t.client.on('disconnected', (info) => t.log.push(['disconnected', (info as { message: string }).message, Date.now()]));
    t.client.on('error', (error) => t.log.push(['error', (error as Error).message, Date.now()]));
  });
}

/**
 * waitForStats, but a page that does not get there says why: its SDK's errors and the tracks it holds
 * (who, what) go into the failure, for a flake on a loaded machine to be understood from the CI log.
 */
async function statsOrWhy(page: Page, check: (s: PathStats) => boolean, timeoutMs: number): Promise<void> {
  try {
    await waitForStats(page, check, timeoutMs);
  } catch (error) {
    const why = await page.evaluate(() => {
      type Track = { source: string; participant: { displayName: string } };
      const t = (window as unknown as { t: { client: { tracks: Track[] }; log: unknown[][] } }).t;
      return {
        tracks: t.client.tracks.map((k) => `${k.participant.displayName}:${k.source}`),
        errors: t.log.filter((e) => e[0] === 'error').map((e) => e[1]),
      };
    });
    throw new Error(`${(error as Error).message}; the page holds ${why.tracks.join(', ')}; SDK errors: ${JSON.stringify(why.errors)}`, {
      cause: error,
    });
  }
}

/** The lead shares an image (a canvas standing in for an imaging device) and pauses it at once. */
function sharePausedImage(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    canvas.getContext('2d')!.fillRect(0, 0, 160, 120);
    const track = canvas.captureStream(5).getVideoTracks()[0]!;
    type Client = {
      publishTrack(t: MediaStreamTrack, s: string): Promise<void>;
      setPublishedPaused(s: string, p: boolean): Promise<void>;
    };
    const client = (window as unknown as { t: { client: Client } }).t.client;
    await client.publishTrack(track, 'screen');
    await client.setPublishedPaused('screen', true);
  });
}

/** The sources a page receives from `from`, with their paused state. */
function received(page: Page, from: string): Promise<{ source: string; paused: boolean }[]> {
  return page.evaluate(
    (from) =>
      (
        window as unknown as {
          t: { client: { tracks: { source: string; paused: boolean; participant: { displayName: string } }[] } };
        }
      ).t.client.tracks
        .filter((t) => t.participant.displayName === from)
        .map((t) => ({ source: t.source, paused: t.paused }))
        .sort((a, b) => a.source.localeCompare(b.source)),
    from,
  );
}

/** Kinds of the tracks added or removed (`event`) since `since`, sorted. */
const kindsSince = (log: PageView['log'], event: string, since: number) =>
  log
    .filter((e) => e[0] === event && e[2] >= since)
    .map((e) => e[1])
    .sort();

interface PageView {
  state: string;
  selfId: string;
  participants: string[];
  log: [string, string, number][];
}

function view(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    const t = (
      window as unknown as {
        t: {
          client: { connectionState: string; self: { id: string }; participants: { displayName: string }[] };
          log: [string, string, number][];
        };
      }
    ).t;
    return {
      state: t.client.connectionState,
      selfId: t.client.self.id,
      participants: t.client.participants.map((p) => p.displayName),
      log: t.log,
    };
  });
}

/** The other's video decodes and their audio carries energy, on the tracks the client holds now. */
const hearsAndSees = (other: string) => (s: PathStats) =>
  s.inbound.some((i) => i.name === other && i.kind === 'video' && i.framesDecoded > 0) &&
  s.inbound.some((i) => i.name === other && i.kind === 'audio' && i.totalAudioEnergy > 0);

/** Media keeps arriving: more frames decoded and more audio energy a second later. */
async function expectFlowing(page: Page, other: string): Promise<void> {
  // Summed over the person's streams of that kind (a paused shared image adds nothing).
  const frames = (s: PathStats) => sum(s, 'video', (i) => i.framesDecoded);
  const energy = (s: PathStats) => sum(s, 'audio', (i) => i.totalAudioEnergy);
  const sum = (s: PathStats, kind: string, f: (i: PathStats['inbound'][number]) => number) =>
    s.inbound.filter((i) => i.name === other && i.kind === kind).reduce((total, i) => total + f(i), 0);
  const first = await pathStats(page);
  await new Promise((r) => setTimeout(r, 1500));
  const second = await pathStats(page);
  expect(frames(second), `video of ${other}`).toBeGreaterThan(frames(first) + 5);
  expect(energy(second), `audio of ${other}`).toBeGreaterThan(energy(first));
}

describe('the node serving the room is killed', () => {
  it('all three rejoin on the survivor and decode each other within 20 s; ban, lock and recording survive; the dead part arrives once', async () => {
    // The room starts on B: a connection that already followed a redirect (hops 1) claims it there,
    // so the entry (A) outlives the owner — in production the entry is a load balancer or DNS name.
    const maLi = await mint('ma-li', '马丽', 'observer', VILLAGE);
    claim = await connect(nodeB.url, maLi, { hops: 1 });
    expect(await owner()).toMatchObject({ node: 'node-b' });
    const { rtpCapabilities } = ok(await claim.request('getRouterRtpCapabilities', {}));
    const observer = ok(await claim.request('join', { rtpCapabilities }));

    const pages = [await openPage(), await openPage(), await openPage()] as const;
    const people = [WANG, ZHAO, LI] as const;
    const othersOf = (i: number) => people.filter((_, k) => k !== i).map((p) => p.name);
    const hearsAndSeesAll = (i: number) => (s: PathStats) => othersOf(i).every((other) => hearsAndSees(other)(s));
    for (const [i, page] of pages.entries()) {
      const p = people[i]!;
      expect(await sdkJoin(page, { ...p, room: ROOM, caseId: 'CASE-HCC-0107', url: nodeA.url, camera: CAMERA })).toBe('joined');
      await watch(page);
    }
    for (const [i, page] of pages.entries()) await waitForStats(page, hearsAndSeesAll(i), 20_000);
    await sharePausedImage(pages[0]);
    const fromWang = [
      { source: 'camera', paused: false },
      { source: 'microphone', paused: false },
      { source: 'screen', paused: true },
    ];
    await pages[1].waitForFunction(() => (window as unknown as { t: { client: { tracks: unknown[] } } }).t.client.tracks.length === 5);
    await expect.poll(() => received(pages[1], WANG.name), { timeout: 5000 }).toEqual(fromWang); // the pause may land just after the track
    // The lead removes the observer, locks the room and records: all of it must survive the node.
    await pages[0].evaluate(async (id) => {
      type Client = {
        moderation: { removeParticipant(id: string): Promise<void>; lockRoom(): Promise<void> };
        recording: { start(): Promise<unknown> };
      };
      const client = (window as unknown as { t: { client: Client } }).t.client;
      await client.moderation.removeParticipant(id);
      await client.moderation.lockRoom();
    }, observer.self.id);
    const part1 = await pages[0].evaluate(async () => {
      const client = (window as unknown as { t: { client: { recording: { start(): Promise<{ sessionId: string }> } } } }).t.client;
      return (await client.recording.start()).sessionId;
    });
    await new Promise((r) => setTimeout(r, 2500)); // a few seconds of everyone on record
    const before = await Promise.all(pages.map(view));
    const servedBy = await owner();
    expect(servedBy?.node).toBe('node-b');

    const killedAt = Date.now();
    await nodeB.kill();

    // Each page: back to 'connected' by way of 'moving', never 'disconnected'.
    const backAt: number[] = [];
    for (const page of pages) {
      await page.waitForFunction(
        () => {
          const t = (window as unknown as { t: { client: { connectionState: string }; log: unknown[][] } }).t;
          return t.client.connectionState === 'connected' && t.log.some((e) => e[1] === 'moving');
        },
        undefined,
        { timeout: 25_000, polling: 200 },
      );
      const v = await view(page);
      backAt.push(v.log.filter((e) => e[0] === 'state' && e[1] === 'connected').at(-1)![2] - killedAt);
    }
    const decodingAt: number[] = [];
    for (const [i, page] of pages.entries()) {
      await statsOrWhy(page, hearsAndSeesAll(i), Math.max(1000, killedAt + 20_000 - Date.now()));
      decodingAt.push(Date.now() - killedAt);
    }
    console.log(
      `[sdk-rejoin] after kill -9 of the owner: connected again at ${backAt.join(' / ')} ms, decoding again at ${decodingAt.join(' / ')} ms`,
    );
    expect(Math.max(...decodingAt)).toBeLessThan(20_000);

    // A took the room over with a new epoch; all three are there once, as new participants.
    const takenOver = await owner();
    expect(takenOver?.node).toBe('node-a');
    expect(takenOver!.epoch).toBeGreaterThan(servedBy!.epoch);
    for (const [i, page] of pages.entries()) {
      const v = await view(page);
      expect(v.state).toBe('connected');
      expect(v.selfId).not.toBe(before[i]!.selfId);
      expect(v.participants.sort()).toEqual(othersOf(i).sort());
      const states = v.log.filter((e) => e[0] === 'state').map((e) => e[1]);
      expect(states).toContain('moving');
      expect(states).not.toContain('disconnected');
      expect(v.log.some((e) => e[0] === 'disconnected')).toBe(false);
      // The old session's tracks ended, the new session's came (the others also get 王芳's shared image,
      // which she republishes after her camera and microphone: it may come a moment after they decode).
      const kinds = i === 0 ? ['audio', 'audio', 'video', 'video'] : ['audio', 'audio', 'video', 'video', 'video'];
      expect(kindsSince(v.log, 'trackRemoved', killedAt)).toEqual(kinds);
      await expect.poll(async () => kindsSince((await view(page)).log, 'trackAdded', killedAt), { timeout: 5000 }).toEqual(kinds);
      for (const other of othersOf(i)) await expectFlowing(page, other);
    }
    // Republished as it was: the shared image is still paused for the others.
    for (const page of pages.slice(1)) await expect.poll(() => received(page, WANG.name), { timeout: 5000 }).toEqual(fromWang);

    // Still locked, still recording — in a new part linked to the first, which every page was told of.
    for (const page of pages) {
      await expect.poll(() => roomState(page).then((s) => s.recording?.continues), { timeout: 5000 }).toBe(part1);
      expect((await roomState(page)).locked).toBe(true);
    }
    const part2 = (await roomState(pages[0])).recording!.sessionId;
    expect(part2).not.toBe(part1);
    // The removed observer is still refused; a newcomer waits in the lobby.
    const refused = await connect(nodeA.url, maLi);
    const again = await refused.request('join', { rtpCapabilities });
    refused.close();
    expect(again.ok ? 'joined' : again.error.code).toBe('FORBIDDEN');
    const newcomer = await connect(nodeA.url, await mint('sun-yue', '孙悦', 'care_team', VILLAGE));
    const waits = await newcomer.request('join', { rtpCapabilities });
    newcomer.close();
    expect(waits.ok && waits.data.status).toBe('waiting');

    // B comes back on its data folder: the part it was recording reaches the webhook, marked interrupted.
    nodeB = await cluster!.restart(nodeB);
    const delivered = (id: string) => expect.poll(() => webhook!.entries.get(id)?.manifest?.status, { timeout: 30_000, interval: 250 });
    await delivered(`rec-${part1}`).toBe('interrupted');
    // The room ends on A: the second part is delivered, linked to the first; the first arrived once.
    for (const page of pages) await page.context().close();
    await delivered(`rec-${part2}`).toBe('complete');
    expect(webhook!.entries.get(`rec-${part2}`)?.manifest?.continues).toBe(part1);
    expect(webhook!.deliveries.get(`rec-${part1}`)).toBe(1);
    expect(webhook!.deliveries.get(`rec-${part2}`)).toBe(1);
  }, 150_000);
});

describe('the node serving the room is drained', () => {
  it('through the admin API: at the deadline both pages move to the other node and decode each other again within 5 s', async () => {
    const room = 'mdt-drain-hcc-0108';
    // Served by B (claimed by a connection that already followed a redirect), entered through A.
    const observer = await connect(nodeB.url, await mint('li-qiang', '李强', 'observer', VILLAGE, room), { hops: 1 });
    try {
      const { rtpCapabilities } = ok(await observer.request('getRouterRtpCapabilities', {}));
      ok(await observer.request('join', { rtpCapabilities }));
      expect(await owner(room)).toMatchObject({ node: 'node-b' });
      const pages = [await openPage(), await openPage()] as const;
      const people = [WANG, ZHAO] as const;
      for (const [i, page] of pages.entries()) {
        expect(await sdkJoin(page, { ...people[i]!, room, caseId: 'CASE-HCC-0107', url: nodeA.url, camera: CAMERA })).toBe('joined');
        await watch(page);
      }
      for (const [i, page] of pages.entries()) await statsOrWhy(page, hearsAndSees(people[1 - i]!.name), 20_000);

      const admin = jwt.sign({ sub: 'ops-zhou-min', scope: 'admin' }, cluster!.secret, { audience: 'telemed-sfu', expiresIn: 300 });
      const drained = await fetch(`${nodeB.url}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
      expect(drained.status).toBe(202);
      // Each page: 'moving' at the deadline, then connected on A and decoding the other's new tracks.
      // Both pages at once (the gap of one must not include the time spent checking the other).
      const mediaBack = async (page: Page, other: string): Promise<number> => {
        await page.waitForFunction(
          () => (window as unknown as { t: { log: unknown[][] } }).t.log.some((e) => e[1] === 'moving'),
          undefined,
          { timeout: 15_000, polling: 100 },
        );
        const log = (await view(page)).log;
        const movingAt = log.find((e) => e[1] === 'moving')![2];
        // The media stopped when the room ended there (its tracks were removed just before 'moving').
        const stoppedAt = Math.min(movingAt, ...log.filter((e) => e[0] === 'trackRemoved' && e[2] >= movingAt - 2000).map((e) => e[2]));
        // The new session's audio and video here: only those count.
        await page.waitForFunction(
          (since) => {
            const added = (window as unknown as { t: { log: [string, string, number][] } }).t.log.filter((e) => e[0] === 'trackAdded');
            return added.filter((e) => e[2] >= since).length >= 2;
          },
          movingAt,
          { timeout: 10_000, polling: 100 },
        );
        await statsOrWhy(page, hearsAndSees(other), 10_000);
        return Date.now() - stoppedAt;
      };
      const gaps = await Promise.all(pages.map((page, i) => mediaBack(page, people[1 - i]!.name)));
      for (const [i, page] of pages.entries()) await expectFlowing(page, people[1 - i]!.name);
      console.log(`[sdk-rejoin] drain: media back ${gaps.join(' / ')} ms after the room moved`);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(5000);
      expect(await owner(room)).toMatchObject({ node: 'node-a' });
      for (const page of pages) {
        expect((await view(page)).state).toBe('connected');
        await page.context().close();
      }
    } finally {
      observer.close();
    }
  }, 60_000);
});
