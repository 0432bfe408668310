/**
 * One node loses its Redis link while it still answers (issue #9, test 5). Node A reaches Redis only
 * through a loopback TCP proxy, node B directly. A serves a live consultation; the proxy cuts A's
 * link (open connections dropped, new ones blackholed: a partition, not a crash) for
 * CLUSTER_LINK_CUT_SECONDS (30 s by default), long past the lease TTL, so A's lease and registration
 * lapse in Redis. Joins of that room arriving at B must not take it over (B probes A, which answers):
 * they are told to retry or sent to A, and the room's epoch never moves. A's participants go on
 * chatting and moderating throughout. When the link returns, A claims its room again (same node,
 * newer epoch) and joins through B are sent to A. `/metrics` of both nodes tells the story.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import type { MediaServer } from '../../server/MediaServer.js';
import type { WireError } from '../../signaling/protocol/index.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { token } from '../helpers/tokens.js';
import { expectChatAndModeration } from '../helpers/roomChecks.js';
import { sleep, until } from '../helpers/until.js';

const CUT_MS = Number(process.env['CLUSTER_LINK_CUT_SECONDS'] ?? '30') * 1000;
const ROOM = 'mdt-link-cut';

let redis: RedisServer;
let proxy: TcpProxy;
let a: MediaServer;
let b: MediaServer;
/** A plain client of the cluster's Redis: what the directory says, read by the test. */
let directory: Redis;
let keys: ClusterKeys;
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy(redis.port);
  const namespace = `cut${Date.now()}`;
  keys = new ClusterKeys(namespace);
  const env = { CLUSTER_NAMESPACE: namespace, ROOM_EMPTY_LINGER_SECONDS: '0' };
  a = await startTestServer({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, CLUSTER_NODE_ID: 'node-a' });
  b = await startTestServer({ ...env, REDIS_URL: redis.url, CLUSTER_NODE_ID: 'node-b' });
  directory = connectRedis({ url: redis.url }, { warn: () => undefined });
  await whenReady(directory);
});
afterAll(async () => {
  for (const c of clients) c.close();
  directory?.disconnect();
  await Promise.all([a?.close(), b?.close()]);
  await proxy?.close();
  await redis?.stop();
});

/** Who holds the room's lease now, as Redis says ("<node>|<epoch>"), or null when it has lapsed. */
const lease = async (): Promise<{ node: string; epoch: number } | null> => {
  const value = await directory.get(keys.roomOwner(ROOM));
  return value === null ? null : { node: value.split('|')[0]!, epoch: Number(value.split('|')[1]) };
};

async function joined(url: string, sub: string, name: string, role: 'lead_specialist' | 'specialist', hops = 0) {
  const client = await connect(url, token({ room: ROOM, sub, name, role }), { hops });
  clients.push(client);
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const answer = ok(await client.request('join', { rtpCapabilities }));
  if (answer.status !== 'joined') throw new Error(`${name} was not admitted`);
  return { client, self: answer.self };
}

/** A join of the room through B: connected (a takeover), or the refusal's code and route. */
async function throughB(sub: string, hops: number): Promise<{ code: string; route?: string | undefined }> {
  return connect(b.url, token({ room: ROOM, sub, name: '李强', role: 'specialist' }), { hops }).then(
    (client) => (clients.push(client), { code: 'connected' }),
    (error: { wire?: WireError }) => ({ code: error.wire?.code ?? 'no answer', route: error.wire?.details?.['route'] }),
  );
}

it(
  `A's Redis link cut for ${CUT_MS / 1000} s while A answers: no takeover; A keeps its room and claims it again`,
  { timeout: CUT_MS + 40_000 },
  async () => {
    // The room opens on A (as if the client had followed a redirect there).
    const lead = await joined(a.url, 'wang-fang', '王芳', 'lead_specialist', 1);
    const doctor = await joined(a.url, 'zhao-lei', '赵磊', 'specialist');
    const before = await lease();
    expect(before?.node).toBe('node-a');
    const epochBefore = await directory.get(keys.roomEpoch(ROOM));
    const metricsBefore = { a: await scrapeMetrics(a.url), b: await scrapeMetrics(b.url) };
    expect(metricsBefore.a.get('telemed_cluster_redis_up')).toBe(1);
    expect(metricsBefore.a.get('telemed_cluster_rooms_held')).toBe(1);

    proxy.cut('blackhole');
    const cutAt = Date.now();
    let lapsed = false;
    let sawRedisDown = false;
    let followed = false;
    for (let round = 0; Date.now() - cutAt < CUT_MS; round++) {
      // A join through B: never served there; retry, or sent to A.
      const answer = await throughB(`late-${round}`, round % 2);
      expect(['UNAVAILABLE', 'MOVED'], `round ${round}`).toContain(answer.code);
      if (answer.code === 'MOVED') {
        expect(answer.route).toBe(a.url);
        if (!followed) {
          // Following it reaches the room on A, whose link to Redis is still cut.
          const late = await joined(a.url, 'chen-jing', '陈静', 'specialist', 1);
          late.client.close();
          followed = true;
        }
      }
      expect(b.rooms.get(ROOM), `round ${round}`).toBeUndefined();
      // The participants on A notice nothing: chat, and the chair's moderation.
      await expectChatAndModeration(lead.client, { client: doctor.client, id: doctor.self.id }, round);
      // Redis' view: the lease lapses (nobody extends it), but nobody claims the room either.
      if ((await lease()) === null) lapsed = true;
      expect(await directory.get(keys.roomEpoch(ROOM))).toBe(epochBefore);
      if ((await scrapeMetrics(a.url)).get('telemed_cluster_redis_up') === 0) sawRedisDown = true;
      await sleep(1000);
    }
    // The chair's last action during the cut changes the room's memory, which Redis cannot see yet.
    ok(await lead.client.request('muteParticipant', { participantId: doctor.self.id, source: 'microphone' }));
    expect(lapsed, 'the lease lapsed during the cut').toBe(true);
    expect(sawRedisDown, 'A reported its Redis link down').toBe(true);
    expect(a.rooms.get(ROOM)?.size).toBe(2);

    proxy.restore();
    // A claims its room again: same node, newer epoch (within a couple of heartbeats of reconnecting).
    const after = await until('A re-asserts its lease', async () => {
      const now = await lease();
      return now && now.epoch > before!.epoch ? now : undefined;
    });
    expect(after.node).toBe('node-a');
    // ... and writes the memory it kept meanwhile under the new epoch (a survivor would restore it).
    await until('the mute made during the cut reaches Redis', async () => {
      const memory = await directory.hgetall(keys.roomMemory(ROOM));
      return Number(memory['epoch']) === after.epoch && memory['mutes']?.includes('zhao-lei') ? memory : undefined;
    });
    // Joins through B are sent to A again (UNAVAILABLE only until A's registration is back).
    const moved = await until('a join through B is MOVED to A', async () => {
      const answer = await throughB('after-cut', 0);
      expect(['UNAVAILABLE', 'MOVED']).toContain(answer.code);
      return answer.code === 'MOVED' ? answer : undefined;
    });
    expect(moved.route).toBe(a.url);
    expect(ok(await lead.client.request('sendChat', { text: '链路恢复' })).message.text).toBe('链路恢复');
    expect(b.rooms.get(ROOM)).toBeUndefined();

    const metricsAfter = await until('A reports Redis up again', async () => {
      const m = { a: await scrapeMetrics(a.url), b: await scrapeMetrics(b.url) };
      return m.a.get('telemed_cluster_redis_up') === 1 ? m : undefined;
    });
    const grew = (node: 'a' | 'b', name: string) => metricsAfter[node].get(name)! - metricsBefore[node].get(name)!;
    expect(grew('a', 'telemed_cluster_lease_reasserts_total')).toBeGreaterThanOrEqual(1);
    expect(grew('b', 'telemed_cluster_redirects_total')).toBeGreaterThanOrEqual(1);
    expect(metricsAfter.b.get('telemed_cluster_takeovers_total')).toBe(0);
    expect(metricsAfter.a.get('telemed_cluster_takeovers_total')).toBe(0);
    expect(metricsAfter.a.get('telemed_cluster_rooms_held')).toBe(1);
    expect(metricsAfter.a.get('telemed_cluster_node_draining')).toBe(0);
  },
);
