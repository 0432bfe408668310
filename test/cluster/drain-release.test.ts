/**
 * A draining node gives up the lease of a room it closed the moment someone asks for the room, and
 * its heartbeat — running at the same time — must not claim that room back: a lease claimed again
 * by the drained node sends the room's people back to it, which sends them on again ("more than 2
 * redirects" in the cluster routing test under load). Nor does it keep them for a join that will not
 * come (a draining node sends every connection for a room it does not have elsewhere). And a room
 * whose memory still says "live on the drained node" (its last write lost to a Redis failure) is
 * corrected by that node when asked for it, so the next node takes it instead of sending it back. Real
 * redis-server; the heartbeat runs every 10 ms over 60 rooms so that its lease round trips
 * interleave with the releases.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterNode } from '../../server/cluster/ClusterNode.js';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import { RoomLeases } from '../../server/cluster/RoomLease.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node on the test's Redis whose rooms are all closed (as after its drain's deadline), its heartbeat every 10 ms. */
async function nodeWithClosedRooms(namespace: string, nodeId = 'node-drained', route = 'http://127.0.0.1:9/'): Promise<ClusterNode> {
  return ClusterNode.start({
    redis: { url: redis.url },
    namespace,
    nodeId,
    route,
    mediaAddresses: ['127.0.0.1'],
    version: 'test',
    load: () => 0,
    hasRoom: () => false,
    onLost: () => undefined,
    memoryMs: 60_000,
    heartbeatMs: 10,
    log: pino({ level: 'silent' }),
  });
}

/** The rooms whose lease someone holds now. */
async function owners(namespace: string, rooms: string[]): Promise<unknown[]> {
  const reader = connectRedis({ url: redis.url }, { warn: () => undefined });
  try {
    await whenReady(reader);
    const leases = new RoomLeases(reader, new ClusterKeys(namespace), { ttlMs: 6000, epochTtlMs: 60_000 });
    return (await Promise.all(rooms.map((room) => leases.owner(room)))).filter((owner) => owner !== undefined);
  } finally {
    reader.disconnect();
  }
}

/** Sixty consultations placed on the node (as after one redirect), each claimed within the join grace. */
async function claimed(node: ClusterNode): Promise<string[]> {
  const rooms = Array.from({ length: 60 }, (_, i) => `mdt-肝病会诊-${i}`);
  for (const room of rooms) expect(await node.route(room, 1)).toEqual({ here: true });
  return rooms;
}

it('rooms closed by the drain: released on the next connection for them, and the heartbeat does not claim them back', async () => {
  const namespace = `t-${randomUUID()}`;
  const node = await nodeWithClosedRooms(namespace);
  try {
    const rooms = await claimed(node);
    await node.drain();
    // The drain's deadline closed them all; their people reconnect through this node at once.
    const decisions = await Promise.allSettled(rooms.map((room) => node.route(room, 0)));
    // No other node serves: each is refused clearly (and not kept here).
    for (const decision of decisions) expect(decision).toMatchObject({ status: 'rejected', reason: { code: 'UNAVAILABLE' } });
    await sleep(200); // twenty heartbeats
    expect(await owners(namespace, rooms)).toEqual([]);
    expect(node.stats.roomsHeld).toBe(0);
  } finally {
    await node.close();
  }
});

it('given up at the next heartbeat even if nobody asks for them; a serving node keeps them for their join', async () => {
  const namespace = `t-${randomUUID()}`;
  const node = await nodeWithClosedRooms(namespace);
  try {
    const rooms = await claimed(node);
    await sleep(200); // serving: claimed rooms wait for their join (the grace), leases kept
    expect(await owners(namespace, rooms)).toHaveLength(60);
    await node.drain();
    await sleep(200);
    expect(await owners(namespace, rooms)).toEqual([]);
    expect(node.stats.roomsHeld).toBe(0);
  } finally {
    await node.close();
  }
});

it('a room its memory still calls live on the draining node (that last write lost) is taken by the next node, not sent back', async () => {
  const namespace = `t-${randomUUID()}`;
  // The drained node is up and answers its health probe, as a node draining through the admin API stays.
  const health = createServer((_, res) => res.end('ok'));
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  const drainedRoute = `http://127.0.0.1:${(health.address() as AddressInfo).port}/`;
  const drained = await nodeWithClosedRooms(namespace, 'node-drained', drainedRoute);
  const next = await nodeWithClosedRooms(namespace, 'node-next', 'http://127.0.0.1:9/');
  const writer = connectRedis({ url: redis.url }, { warn: () => undefined });
  try {
    await whenReady(writer);
    // What the drained node's writes left while the room ran there; its lease is gone.
    const room = 'mdt-皮肤科会诊';
    await writer.hset(new ClusterKeys(namespace).roomMemory(room), { owner: 'node-drained', live: '1', route: drainedRoute, epoch: '1' });
    await drained.drain();
    // Someone reconnects through the drained node: sent on, and the memory corrected on the way.
    expect(await drained.route(room, 0)).toEqual({ here: false, route: 'http://127.0.0.1:9/' });
    expect(await next.route(room, 1)).toEqual({ here: true });
  } finally {
    writer.disconnect();
    await Promise.all([drained.close(), next.close()]);
    health.close();
  }
});
