/**
 * Four nodes on one real redis-server: a room is served by exactly one node whatever the entry
 * node, a client sent elsewhere is told where (MOVED) and gets there in at most one redirect, the
 * SDK's connection follows by itself, and a Redis outage leaves running rooms alone while a new room
 * is refused clearly and quickly.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import type { MediaServer } from '../../server/MediaServer.js';
import { SignalingConnection } from '../../client-sdk/src/SignalingConnection.js';
import type { WireError } from '../../signaling/protocol/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { adminToken, token } from '../helpers/tokens.js';

let redis: RedisServer;
let namespace = '';
/** A plain client of the cluster's Redis, to play the faults a test needs. */
let directory: Redis;
const nodes: MediaServer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  namespace = `t${Date.now()}`;
  for (const id of ['node-a', 'node-b', 'node-c', 'node-d']) {
    nodes.push(
      await startTestServer({ REDIS_URL: redis.url, CLUSTER_NODE_ID: id, CLUSTER_NAMESPACE: namespace, ROOM_EMPTY_LINGER_SECONDS: '0' }),
    );
  }
});
afterAll(async () => {
  for (const c of clients) c.close();
  directory?.disconnect();
  await Promise.all(nodes.map((n) => n.close()));
  await redis?.stop();
});

/** Connects through `entry`, following MOVED as the SDK does; returns the client and the hops taken. */
async function connectVia(entry: MediaServer, jwt: string): Promise<{ client: TestClient; url: string; hops: number }> {
  let url = entry.url;
  for (let hops = 0; hops <= 2; hops++) {
    try {
      const client = await connectWithHops(url, jwt, hops);
      clients.push(client);
      return { client, url, hops };
    } catch (error) {
      const wire = (error as { wire?: WireError }).wire;
      if (wire?.code !== 'MOVED' || !wire.details?.['route']) throw error;
      url = wire.details['route'];
    }
  }
  throw new Error('more than 2 redirects');
}

async function connectWithHops(url: string, jwt: string, hops: number): Promise<TestClient> {
  const client = await connect(url, jwt, { hops });
  return client;
}

const servingNodes = (roomId: string) => nodes.filter((n) => n.rooms.get(roomId) !== undefined);

describe('one owner per room across the nodes', () => {
  it('20 rooms × 3 joins through random entry nodes: exactly one node serves each, ≤ 1 redirect per join', async () => {
    let redirects = 0;
    for (let r = 0; r < 20; r++) {
      const room = `mdt-cluster-${r}`;
      for (let j = 0; j < 3; j++) {
        const entry = nodes[(r * 7 + j * 5) % nodes.length]!;
        const jwt = token({ room, sub: `doc-${r}-${j}`, name: ['王芳', '赵磊', '马丽'][j]!, role: 'specialist' });
        const { client, hops } = await connectVia(entry, jwt);
        expect(hops, `room ${r} join ${j}`).toBeLessThanOrEqual(1);
        redirects += hops;
        const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
        expect(ok(await client.request('join', { rtpCapabilities })).status).toBe('joined');
      }
      const serving = servingNodes(room);
      expect(serving, `room ${r}`).toHaveLength(1);
      expect(serving[0]!.rooms.get(room)!.size).toBe(3);
    }
    // Placement spreads rooms: not all on one node.
    const perNode = nodes.map((n) => n.rooms.size);
    expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
    expect(redirects).toBeGreaterThan(0);
  });

  it("the SDK's connection follows MOVED by itself and remembers the node", async () => {
    const room = 'mdt-cluster-sdk';
    const owner = await connectVia(nodes[0]!, token({ room, sub: 'owner', name: '王芳' }));
    const { rtpCapabilities } = ok(await owner.client.request('getRouterRtpCapabilities', {}));
    ok(await owner.client.request('join', { rtpCapabilities }));
    const other = nodes.find((n) => n.url !== owner.url)!;
    const connection = await SignalingConnection.connect({ url: other.url, token: token({ room, sub: 'sdk', name: '赵磊' }) });
    try {
      expect(connection.url).toBe(owner.url);
      const caps = await connection.request('getRouterRtpCapabilities', {});
      expect(caps.rtpCapabilities.codecs?.length).toBeGreaterThan(0);
    } finally {
      connection.close();
    }
  });
});

describe('a lapsed lease', () => {
  beforeAll(async () => {
    directory = connectRedis({ url: redis.url }, { warn: () => undefined });
    await whenReady(directory);
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function liveRoom(room: string): Promise<{ owner: MediaServer; client: TestClient }> {
    const { client } = await connectVia(nodes[0]!, token({ room, sub: `lead-${room}`, name: '王芳', role: 'lead_specialist' }));
    const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
    ok(await client.request('join', { rtpCapabilities }));
    const [owner] = servingNodes(room);
    return { owner: owner!, client };
  }

  it('of a live room whose owner still answers: no takeover; the owner claims it again', async () => {
    const room = 'mdt-cluster-lapse';
    const { owner } = await liveRoom(room);
    const keys = new ClusterKeys(namespace);
    const before = await directory.get(keys.roomOwner(room));
    await directory.del(keys.roomOwner(room)); // as if Redis had been unreachable longer than the TTL
    const other = nodes.find((n) => n !== owner)!;
    const answer = await connect(other.url, token({ room, sub: 'doc-lapse', name: '赵磊' })).then(
      (c) => (clients.push(c), 'connected'),
      (error: { wire?: WireError }) => error.wire?.code,
    );
    expect(['UNAVAILABLE', 'MOVED']).toContain(answer); // never served by the other node
    const deadline = Date.now() + 6000;
    let after: string | null = null;
    while (Date.now() < deadline && !after) {
      after = await directory.get(keys.roomOwner(room));
      if (!after) await sleep(200);
    }
    expect(after?.split('|')[0]).toBe(before?.split('|')[0]);
    expect(Number(after?.split('|')[1])).toBeGreaterThan(Number(before?.split('|')[1]));
    expect(servingNodes(room)).toEqual([owner]);
  });

  it('taken by another node meanwhile: the newer epoch wins and the room ends here', async () => {
    const room = 'mdt-cluster-fenced';
    const { owner, client } = await liveRoom(room);
    const ended = client.next('sessionEnded', () => true, 8000);
    await directory.set(new ClusterKeys(namespace).roomOwner(room), 'node-elsewhere|999', 'PX', 10_000);
    expect((await ended).reason).toBe('room_moved');
    expect(owner.rooms.get(room)).toBeUndefined();
  });
});

describe('drain', () => {
  it('a draining node takes no new room, keeps its rooms until the deadline, then moves them; readiness says so', async () => {
    const drained = nodes[0]!;
    const room = 'mdt-cluster-drain';
    // Connected as if already redirected once: the room is claimed on this node.
    const lead = await connect(drained.url, token({ room, sub: 'lead-drain', name: '王芳', role: 'lead_specialist' }), { hops: 1 });
    clients.push(lead);
    const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
    ok(await lead.request('join', { rtpCapabilities }));
    expect(drained.rooms.get(room)).toBeDefined();
    // Locked, with the village nurse let in from the lobby, and recorded: all of it moves with the room.
    ok(await lead.request('setRoomLocked', { locked: true }));
    const nurseToken = token({ room, sub: 'nurse-drain', name: '马丽', role: 'care_team' });
    const nurse = await connect(drained.url, nurseToken, { hops: 1 });
    clients.push(nurse);
    const waiting = ok(await nurse.request('join', { rtpCapabilities }));
    expect(waiting.status).toBe('waiting');
    ok(await lead.request('admit', { participantId: waiting.self.id }));
    const part1 = ok(await lead.request('startRecording', {}));
    const moved = lead.next('sessionEnded', () => true, 8000);

    const draining = drained.drain(1500);
    const ready = await fetch(`${drained.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toContainEqual(expect.stringMatching(/draining/));
    expect((await fetch(`${drained.url}/healthz`)).status).toBe(200);
    // A new room through the draining node lands elsewhere.
    const fresh = await connectVia(drained, token({ room: 'mdt-cluster-after-drain', sub: 'new', name: '赵磊' }));
    expect(fresh.url).not.toBe(drained.url);
    // The room here goes on until the deadline.
    expect(ok(await lead.request('sendChat', { text: '继续会诊' })).message.text).toBe('继续会诊');

    expect((await moved).reason).toBe('room_moved');
    await draining;
    // Rejoining through the same entry URL (what the SDK does) reaches another node.
    const back = await connectVia(drained, token({ room, sub: 'lead-drain', name: '王芳', role: 'lead_specialist' }));
    expect(back.url).not.toBe(drained.url);
    const part2 = back.client.next('recordingStarted', (r) => r.recording.continues === part1.sessionId);
    expect(ok(await back.client.request('join', { rtpCapabilities })).status).toBe('joined');
    // Recording goes on by itself as a new part linked to the first, and the lead is told again.
    const { recording } = await part2;
    expect(recording).toMatchObject({ startedBy: null, continues: part1.sessionId });
    expect(recording.sessionId).not.toBe(part1.sessionId);
    // Still locked: the admitted nurse walks back in, a newcomer waits.
    const nurseBack = await connectVia(drained, nurseToken);
    const rejoined = ok(await nurseBack.client.request('join', { rtpCapabilities }));
    expect(rejoined.status).toBe('joined');
    expect(rejoined.status === 'joined' && rejoined.roomLocked && rejoined.recording?.sessionId).toBe(recording.sessionId);
    const newcomer = await connectVia(drained, token({ room, sub: 'rehab-drain', name: '孙悦', role: 'care_team' }));
    expect(ok(await newcomer.client.request('join', { rtpCapabilities })).status).toBe('waiting');
    await drained.close();
    nodes.splice(nodes.indexOf(drained), 1);
  });
});

describe('admin drain', () => {
  it('an admin token drains a node through the API (an access token cannot); its rooms move at the deadline', async () => {
    const node = await startTestServer({
      REDIS_URL: redis.url,
      CLUSTER_NODE_ID: 'node-maintenance',
      CLUSTER_NAMESPACE: namespace,
      ROOM_EMPTY_LINGER_SECONDS: '0',
      DRAIN_DEADLINE_SECONDS: '1',
    });
    try {
      const room = 'mdt-cluster-admin-drain';
      const lead = await connect(node.url, token({ room, sub: 'lead-maint', name: '王芳', role: 'lead_specialist' }), { hops: 1 });
      clients.push(lead);
      const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
      ok(await lead.request('join', { rtpCapabilities }));
      const drain = (bearer: string) =>
        fetch(`${node.url}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
      expect((await drain(token({ room, sub: 'lead-maint', role: 'lead_specialist' }))).status).toBe(401);
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);

      const moved = lead.next('sessionEnded', () => true, 8000);
      const accepted = await drain(adminToken());
      expect(accepted.status).toBe(202);
      expect(await accepted.json()).toMatchObject({ state: 'draining', clustered: true });
      expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
      expect((await moved).reason).toBe('room_moved');
      const back = await connectVia(node, token({ room, sub: 'lead-maint', name: '王芳', role: 'lead_specialist' }));
      expect(back.url).not.toBe(node.url);
    } finally {
      await node.close();
    }
  });
});

describe('Redis outage', () => {
  it('a running room does not notice; a new room is refused with UNAVAILABLE within 3 s', async () => {
    const room = 'mdt-cluster-outage';
    const { client, url } = await connectVia(nodes[1]!, token({ room, sub: 'lead', name: '王芳', role: 'lead_specialist' }));
    const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
    ok(await client.request('join', { rtpCapabilities }));
    await redis.kill();
    try {
      // Chat, and a second participant through the owner itself, need no Redis.
      expect(ok(await client.request('sendChat', { text: '影像已上传' })).message.text).toBe('影像已上传');
      const again = await connect(url, token({ room, sub: 'doc', name: '赵磊' }));
      clients.push(again);
      expect(ok(await again.request('join', { rtpCapabilities })).status).toBe('joined');

      const started = Date.now();
      const refused = await connect(nodes[0]!.url, token({ room: 'mdt-cluster-new', sub: 'x', name: '马丽' })).then(
        (c) => (clients.push(c), undefined),
        (error: { wire?: WireError }) => error.wire,
      );
      expect(refused?.code).toBe('UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      redis = await startRedis(redis.port);
    }
  });
});

describe('room memory outlives the node that served the room', () => {
  it('a redis that came back empty is repopulated by the nodes within two heartbeats', async () => {
    // The outage test above left a fresh, empty redis-server: nodes re-announce themselves.
    const deadline = Date.now() + 5000;
    let answer: string | undefined;
    while (Date.now() < deadline) {
      answer = await connectVia(nodes[0]!, token({ room: 'mdt-cluster-after-outage', sub: 'after', name: '王芳' })).then(
        () => 'connected',
        (error: { wire?: WireError }) => error.wire?.code,
      );
      if (answer === 'connected') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer).toBe('connected');
  });

  it('a removed person stays out and an ended consultation stays ended on the next node', async () => {
    const joinRoom = async (room: string, sub: string, name: string, role: 'lead_specialist' | 'specialist') => {
      const { client, url } = await connectVia(nodes.at(-1)!, token({ room, sub, name, role }));
      const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
      const joined = ok(await client.request('join', { rtpCapabilities }));
      if (joined.status !== 'joined') throw new Error('expected to join');
      return { client, url, self: joined.self };
    };
    const banRoom = 'mdt-cluster-ban';
    const lead = await joinRoom(banRoom, 'lead-ban', '王芳', 'lead_specialist');
    const doctor = await joinRoom(banRoom, 'zhao-lei', '赵磊', 'specialist');
    const nurse = await joinRoom(banRoom, 'chen-jing', '陈静', 'specialist');
    ok(await lead.client.request('removeParticipant', { participantId: doctor.self.id }));
    ok(await lead.client.request('muteParticipant', { participantId: nurse.self.id, source: 'microphone' }));
    nurse.client.close();
    lead.client.close();
    const endRoom = 'mdt-cluster-ended';
    const chair = await joinRoom(endRoom, 'lead-end', '马丽', 'lead_specialist');
    ok(await chair.client.request('endRoom', {}));

    // The nodes that served them go away (cleanly: leases released, memory written).
    const owners = nodes.filter((n) => n.url === lead.url || n.url === chair.url);
    for (const owner of owners) {
      await owner.close();
      nodes.splice(nodes.indexOf(owner), 1);
    }
    expect(nodes.length).toBeGreaterThan(0);
    const survivor = nodes[0]!;
    // Through a survivor (it may send us to another survivor): never a node that knew the room.
    const { client: back } = await connectVia(survivor, token({ room: banRoom, sub: 'zhao-lei', name: '赵磊', role: 'specialist' }));
    const { rtpCapabilities } = ok(await back.request('getRouterRtpCapabilities', {}));
    const refused = await back.request('join', { rtpCapabilities });
    expect(refused.ok ? 'joined' : refused.error.code).toBe('FORBIDDEN');
    expect(servingNodes(banRoom), 'the room reopened on a survivor').toHaveLength(1);

    const { client: late } = await connectVia(survivor, token({ room: endRoom, sub: 'late', name: '李强', role: 'specialist' }));
    const ended = await late.request('join', { rtpCapabilities });
    expect(ended.ok ? 'joined' : ended.error.code).toBe('WRONG_STATE');

    // A moderator's mute holds for the person on the next node too.
    const { client: muted } = await connectVia(survivor, token({ room: banRoom, sub: 'chen-jing', name: '陈静', role: 'specialist' }));
    const rejoined = ok(await muted.request('join', { rtpCapabilities }));
    expect(rejoined.status === 'joined' && rejoined.mutedByModerator).toEqual(['microphone']);
  });
});
