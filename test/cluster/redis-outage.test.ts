/**
 * Redis dies (issue #9, test 4): two node processes on a real redis-server, which is killed with
 * SIGKILL for CLUSTER_REDIS_OUTAGE_SECONDS (30 s by default) and started again, empty, on the same
 * port. Meanwhile the running consultation chats and moderates, two Chromium participants in it keep
 * decoding each other's video with no gap over 1 s (measured in the pages), a new room is refused
 * clearly (UNAVAILABLE) within 3 s, and no node exits; `/metrics` says Redis is down. Within 5 s of
 * Redis returning a new room opens, and the nodes say Redis is up again.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { longestFrameGap, openSdkPage, sdkJoin, waitForStats, watchFrames } from '../../bench/lib/sdkPage.js';
import type { WireError } from '../../signaling/protocol/index.js';
import { startLocalCluster, type LocalCluster } from '../helpers/clusterProcesses.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { TEST_AUDIENCE, token, type TokenSpec } from '../helpers/tokens.js';
import { expectChatAndModeration } from '../helpers/roomChecks.js';
import { sleep, until } from '../helpers/until.js';

const OUTAGE_MS = Number(process.env['CLUSTER_REDIS_OUTAGE_SECONDS'] ?? '30') * 1000;
const ROOM = 'mdt-redis-outage';

let cluster: LocalCluster;
/** The redis-server started again after the kill (the cluster's own handle is the killed one). */
let restarted: RedisServer | undefined;
const clients: TestClient[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  cluster = await startLocalCluster(['node-a', 'node-b'], { JWT_AUDIENCE: TEST_AUDIENCE });
  browser = await launchChromium();
}, 90_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await cluster?.stop();
  await restarted?.stop();
});

const jwt = (spec: TokenSpec) => token(spec, {}, cluster.secret);

async function joined(url: string, spec: TokenSpec, hops: number) {
  const client = await connect(url, jwt(spec), { hops });
  clients.push(client);
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const answer = ok(await client.request('join', { rtpCapabilities }));
  if (answer.status !== 'joined') throw new Error(`${spec.name ?? ''} was not admitted`);
  return { client, self: answer.self };
}

/** A first join of a new room through node A, following MOVED: joined, or the refusal's code. */
async function newRoom(room: string): Promise<string> {
  let url = cluster.nodes[0]!.url;
  for (let hops = 0; hops <= 2; hops++) {
    try {
      await joined(url, { room, sub: `first-${room}`, name: '马丽', role: 'lead_specialist' }, hops);
      return 'joined';
    } catch (error) {
      const wire = (error as { wire?: WireError }).wire;
      if (wire?.code !== 'MOVED' || !wire.details?.['route']) return wire?.code ?? String(error);
      url = wire.details['route'];
    }
  }
  return 'too many redirects';
}

const redisUp = async () => Promise.all(cluster.nodes.map(async (n) => (await scrapeMetrics(n.url)).get('telemed_cluster_redis_up')));

it(
  `Redis killed for ${OUTAGE_MS / 1000} s: the running room goes on, a new room is refused then works again, no node exits`,
  { timeout: OUTAGE_MS + 60_000 },
  async () => {
    const owner = cluster.nodes[1]!;
    const lead = await joined(owner.url, { room: ROOM, sub: 'wang-fang', name: '王芳', role: 'lead_specialist' }, 1);
    const doctor = await joined(owner.url, { room: ROOM, sub: 'zhao-lei', name: '赵磊', role: 'specialist' }, 0);
    expect(await redisUp()).toEqual([1, 1]);
    // Two more clinicians in the room, in Chromium, sending and receiving video and audio.
    const people = [
      { identity: 'li-qiang', name: '李强', site: { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' as const } },
      { identity: 'chen-jing', name: '陈静', site: { id: 'apx', name: '安平县医院', level: 'county_hospital' as const } },
    ];
    const pages: Page[] = [];
    for (const p of people) {
      const page = await openSdkPage(browser!, owner.url);
      expect(
        await sdkJoin(page, { ...p, role: 'specialist', room: ROOM, caseId: 'CASE-1', camera: { width: 320, height: 240, frameRate: 15 } }),
      ).toBe('joined');
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) {
      const other = people[1 - i]!.name;
      await waitForStats(page, (s) => s.inbound.some((x) => x.name === other && x.kind === 'video' && x.framesDecoded > 0));
      await watchFrames(page);
    }

    await cluster.redis.kill();
    const killedAt = Date.now();
    // A new room needs the directory: refused clearly, and quickly.
    const started = Date.now();
    expect(await newRoom('mdt-during-outage')).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(3000);
    let round = 0;
    for (; Date.now() - killedAt < OUTAGE_MS; round++) {
      await expectChatAndModeration(lead.client, { client: doctor.client, id: doctor.self.id }, round);
      for (const node of cluster.nodes) {
        expect(node.alive, `${node.id} still runs:\n${node.logTail()}`).toBe(true);
        expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      }
      await sleep(1000);
    }
    expect(round).toBeGreaterThan(1);
    expect(await redisUp()).toEqual([0, 0]);
    // Media never needed Redis: no receiver stalled for more than a second during the outage.
    const gaps = await Promise.all(pages.map((page) => longestFrameGap(page)));
    console.log(`[redis-outage] longest receiver frame gap during the outage: ${gaps.join(' / ')} ms`);
    for (const gap of gaps) expect(gap).toBeLessThan(1000);

    restarted = await startRedis(cluster.redis.port);
    // Empty, as Redis restarted without persistence: the nodes re-register within their heartbeats.
    expect(
      await until(
        'a new room opens after Redis returned',
        async () => ((await newRoom('mdt-after-outage')) === 'joined' ? true : undefined),
        5000,
      ),
    ).toBe(true);
    await until('both nodes report Redis up', async () => ((await redisUp()).every((up) => up === 1) ? true : undefined), 5000);
    expect(ok(await lead.client.request('sendChat', { text: '恢复正常' })).message.text).toBe('恢复正常');
    expect(cluster.nodes.every((n) => n.alive)).toBe(true);
  },
);
