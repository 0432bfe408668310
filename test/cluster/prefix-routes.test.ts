/**
 * Routes as path prefixes behind one public host: two nodes whose CLUSTER_ROUTE is `<host>/n1` and
 * `<host>/n2` on one loopback reverse proxy (path passed unchanged, as the README's nginx example
 * does). A join through the host's `/n1` is MOVED to `/n2` and served there by the SDK's connection,
 * over WebSocket and over long-polling; a node's liveness probe of another uses its prefix; an
 * encoder's URL names the host, and its offer through the host's entry is passed on to the room's node.
 */
import type { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignalingConnection } from '../../client-sdk/src/SignalingConnection.js';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import type { MediaServer } from '../../server/MediaServer.js';
import { PROTOCOL_VERSION, type Ack, type IngestGrant, type WireError } from '../../signaling/protocol/index.js';
import { startPathProxy, type PathProxy } from '../helpers/pathProxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { adminToken, token } from '../helpers/tokens.js';

let redis: RedisServer | undefined;
let proxy: PathProxy | undefined;
let directory: Redis | undefined;
const keys = new ClusterKeys(`p${Date.now()}`);
const nodes: MediaServer[] = [];
const clients: TestClient[] = [];
const connections: SignalingConnection[] = [];
const ROOM = 'mdt-prefix-route';

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startPathProxy();
  for (const [i, prefix] of ['/n1', '/n2'].entries()) {
    const node = await startTestServer({
      REDIS_URL: redis.url,
      CLUSTER_NODE_ID: `node-${i + 1}`,
      CLUSTER_NAMESPACE: keys.namespace,
      CLUSTER_ROUTE: `${proxy.url}${prefix}`,
      ROOM_EMPTY_LINGER_SECONDS: '0',
    });
    nodes.push(node);
    proxy.route(prefix, node.port);
  }
  directory = connectRedis({ url: redis.url }, { warn: () => undefined });
  await whenReady(directory);
  // The room is served by node-2 (its lead connected there as if already redirected once).
  const lead = await connect(`${proxy.url}/n2`, token({ room: ROOM, sub: 'lead-prefix', name: '王芳', role: 'lead_specialist' }), {
    hops: 1,
  });
  clients.push(lead);
  const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
  ok(await lead.request('join', { rtpCapabilities }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of connections) c.close();
  directory?.disconnect();
  await Promise.allSettled(nodes.map((n) => n.close()));
  await proxy?.close();
  await redis?.stop();
});

describe('routes as path prefixes behind one public host', () => {
  it('a join through /n1 is MOVED to /n2 and served there; the SDK follows through the same host', async () => {
    expect(nodes[1]!.rooms.get(ROOM)?.size).toBe(1);
    const jwt = token({ room: ROOM, sub: 'zhao-lei', name: '赵磊', role: 'specialist' });
    const moved = await connect(`${proxy!.url}/n1`, jwt).then(
      (c) => (clients.push(c), undefined),
      (error: { wire?: WireError }) => error.wire,
    );
    expect(moved?.code).toBe('MOVED');
    expect(moved?.details?.['route']).toBe(`${proxy!.url}/n2`);

    const connection = await SignalingConnection.connect({ url: `${proxy!.url}/n1`, token: jwt });
    connections.push(connection);
    expect(connection.url).toBe(`${proxy!.url}/n2`);
    const { rtpCapabilities } = await connection.request('getRouterRtpCapabilities', {});
    expect((await connection.request('join', { rtpCapabilities })).status).toBe('joined');
    expect(nodes[1]!.rooms.get(ROOM)?.size).toBe(2);
    expect(nodes[0]!.rooms.get(ROOM)).toBeUndefined();
    // Both hops went through the proxy's one host, each to its node's prefix.
    expect(proxy!.forwarded).toContainEqual(expect.stringMatching(/^UPGRADE \/n1\/socket\.io\/\?/));
    expect(proxy!.forwarded).toContainEqual(expect.stringMatching(/^UPGRADE \/n2\/socket\.io\/\?/));
  });

  it('long-polling under a prefix reaches the same node for every request', async () => {
    const socket = io(proxy!.url, {
      path: '/n2/socket.io',
      transports: ['polling'],
      auth: {
        token: token({ room: ROOM, sub: 'chen-jing', name: '陈静', role: 'specialist' }),
        protocolVersion: PROTOCOL_VERSION,
        hops: 1,
      },
      reconnection: false,
      forceNew: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const caps = await new Promise<Ack<{ rtpCapabilities: unknown }>>((resolve) => socket.emit('getRouterRtpCapabilities', {}, resolve));
      expect(caps.ok).toBe(true);
      const polls = proxy!.forwarded.filter((line) => line.includes('/n2/socket.io/?') && line.includes('transport=polling'));
      expect(polls.length).toBeGreaterThan(1);
      expect(proxy!.forwarded.filter((line) => line.includes('/n1/socket.io/?') && line.includes('transport=polling'))).toEqual([]);
    } finally {
      socket.close();
    }
  });

  it('an encoder’s URL names the public host; its offer through the host’s entry is passed on to the room’s node at its prefix', async () => {
    const room = 'jkjy-prefix-2026-12-20';
    const site = { id: 'xy-eyy', name: '中南大学湘雅二医院', level: 'tertiary_hospital' as const };
    const lead = await connect(
      `${proxy!.url}/n2`,
      token({ room, kind: 'broadcast', sub: 'xy-zhou-li', name: '周丽', role: 'lead_specialist', site, caseId: undefined }),
      { hops: 1 },
    );
    clients.push(lead);
    const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
    ok(await lead.request('join', { rtpCapabilities }));
    const created = await fetch(`${proxy!.url}/n1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken()}` },
      body: JSON.stringify({ room, kind: 'broadcast', protocol: 'whip', name: '健康讲座演播室', site }),
    });
    expect(created.status).toBe(201);
    const grant = (await created.json()) as IngestGrant;
    expect(grant.publishUrl).toBe(`${proxy!.url}/whip/${grant.ingest.id}`);

    proxy!.route('', nodes[0]!.port); // the host's entry (any node; node-1 here), as nginx's `location /`
    try {
      const offer = await fetch(grant.publishUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${grant.token}` },
        body: 'v=0\r\n',
      });
      // Not an offer: refused by node-2, where the programme would run — its answer came back through node-1.
      expect(offer.status).toBe(400);
      expect(proxy!.forwarded).toContain(`POST /whip/${grant.ingest.id}`);
      expect(proxy!.forwarded).toContain(`POST /n2/whip/${grant.ingest.id}?hops=1`);
      // And the refused offer left nobody on the stage.
      expect(
        nodes[1]!.rooms
          .get(room)
          ?.participants()
          .map((p) => p.info.identity),
      ).toEqual(['xy-zhou-li']);
      expect(nodes[0]!.rooms.get(room)).toBeUndefined();
    } finally {
      proxy!.unroute('');
    }
  });

  it("a node's liveness is probed at <route>/healthz: a lapsed lease is not taken over while its owner answers there (MOVED to it)", async () => {
    expect((await fetch(`${proxy!.url}/n2/healthz`)).status).toBe(200);
    expect((await fetch(`${proxy!.url}/healthz`)).status).toBe(404); // only the prefixes lead to nodes
    expect((await fetch(`${nodes[1]!.url}/healthz`)).status).toBe(200); // and the node's own address still works

    const probes = () => proxy!.forwarded.filter((line) => line === 'GET /n2/healthz').length;
    const before = probes();
    await directory!.del(keys.roomOwner(ROOM)); // as if Redis had lost the lease
    // Through node-1, as if placed there: it would claim the room unless node-2 answers its probe.
    const answer = await connect(`${proxy!.url}/n1`, token({ room: ROOM, sub: 'li-qiang', name: '李强', role: 'specialist' }), {
      hops: 1,
    }).then(
      (c) => (clients.push(c), 'connected'),
      (error: { wire?: WireError }) => `${error.wire?.code} ${error.wire?.details?.['route']}`,
    );
    // The owner answers: the join is sent to it (at its prefix), never taken over.
    expect(answer).toBe(`MOVED ${proxy!.url}/n2`);
    expect(nodes[0]!.rooms.get(ROOM)).toBeUndefined();
    expect(probes()).toBeGreaterThan(before); // node-1 asked node-2 at its prefix
  });
});
