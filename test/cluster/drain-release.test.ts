/**
 * A draining node gives up the lease of a room it closed the moment someone asks for the room, and
 * its heartbeat — running at the same time — must not claim that room back: a lease claimed again
 * by the drained node sends the room's people back to it, which sends them on again ("more than 2
 * redirects" in the cluster routing test under load). Real redis-server; the heartbeat runs every
 * 10 ms over 60 rooms so that its lease round trips interleave with the releases.
 */
import { randomUUID } from 'node:crypto';
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

it('rooms closed by the drain: released on the next connection for them, and the heartbeat does not claim them back', async () => {
  const namespace = `t-${randomUUID()}`;
  const open = new Set<string>();
  const node = await ClusterNode.start({
    redis: { url: redis.url },
    namespace,
    nodeId: 'node-drained',
    route: 'http://127.0.0.1:9/',
    mediaAddresses: ['127.0.0.1'],
    version: 'test',
    load: () => open.size,
    hasRoom: (roomId) => open.has(roomId),
    onLost: () => undefined,
    memoryMs: 60_000,
    heartbeatMs: 10,
    log: pino({ level: 'silent' }),
  });
  const reader = connectRedis({ url: redis.url }, { warn: () => undefined });
  try {
    await whenReady(reader);
    const leases = new RoomLeases(reader, new ClusterKeys(namespace), { ttlMs: 6000, epochTtlMs: 60_000 });
    // Sixty consultations placed here (as after one redirect), each claimed within the join grace.
    const rooms = Array.from({ length: 60 }, (_, i) => `mdt-肝病会诊-${i}`);
    for (const room of rooms) expect(await node.route(room, 1)).toEqual({ here: true });
    await node.drain();
    // The drain's deadline closed them all; their people reconnect through this node at once.
    const decisions = await Promise.allSettled(rooms.map((room) => node.route(room, 0)));
    // No other node serves: each is refused clearly (and not kept here).
    for (const decision of decisions) expect(decision).toMatchObject({ status: 'rejected', reason: { code: 'UNAVAILABLE' } });
    await sleep(200); // twenty heartbeats
    const owners = await Promise.all(rooms.map((room) => leases.owner(room)));
    expect(owners.filter((owner) => owner !== undefined)).toEqual([]);
    expect(node.stats.roomsHeld).toBe(0);
  } finally {
    reader.disconnect();
    await node.close();
  }
});
