/**
 * The cluster's building blocks against a real redis-server: room leases with fencing epochs (one
 * owner, whatever the race; a stale owner can neither extend nor delete its successor's lease), node
 * registrations that vanish without heartbeats, placement by load, TTLs on every key, and a Redis
 * that dies: calls fail fast and nothing crashes.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { NodeRegistry, placeRoom, type NodeInfo } from '../../server/cluster/NodeRegistry.js';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import { RoomLeases } from '../../server/cluster/RoomLease.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const quiet = { warn: () => undefined };
let server: RedisServer;
const clients: Redis[] = [];
let readyClients: Promise<void>[] = [];
const client = (): Redis => {
  const c = connectRedis({ url: server.url }, quiet);
  clients.push(c);
  readyClients.push(whenReady(c));
  return c;
};
/** Connections are made synchronously; commands wait for this (the client does not queue them). */
const connected = async () => {
  await Promise.all(readyClients);
  readyClients = [];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

function leases(namespace: string, ttlMs = 5000): RoomLeases {
  return new RoomLeases(client(), new ClusterKeys(namespace), { ttlMs, epochTtlMs: 60_000 });
}

describe('room leases', () => {
  it('one owner; others are told who; a stale epoch can neither extend nor release', async () => {
    const ns = `t-${randomUUID()}`;
    const a = leases(ns);
    const b = leases(ns);
    await connected();
    const room = '肿瘤会诊-1';
    const first = await a.claim(room, 'node-a');
    expect(first).toEqual({ claimed: true, owner: { nodeId: 'node-a', epoch: 1 } });
    expect(await b.claim(room, 'node-b')).toEqual({ claimed: false, owner: { nodeId: 'node-a', epoch: 1 } });
    expect(await a.extend(room, first.owner)).toBe(true);
    expect(await b.extend(room, { nodeId: 'node-b', epoch: 1 })).toBe(false);
    expect(await a.release(room, first.owner)).toBe(true);

    const second = await b.claim(room, 'node-b');
    expect(second).toEqual({ claimed: true, owner: { nodeId: 'node-b', epoch: 2 } });
    // node-a comes back thinking it still owns epoch 1: it must not touch node-b's lease.
    expect(await a.extend(room, first.owner)).toBe(false);
    expect(await a.release(room, first.owner)).toBe(false);
    expect(await a.owner(room)).toEqual({ nodeId: 'node-b', epoch: 2 });
  });

  it('an expired lease can be claimed by another node, with a new epoch', async () => {
    const ns = `t-${randomUUID()}`;
    const a = leases(ns, 300);
    const b = leases(ns, 300);
    await connected();
    const { owner } = await a.claim('随访-7', 'node-a');
    await sleep(450); // node-a stopped extending (paused, cut off, dead)
    expect(await a.owner('随访-7')).toBeUndefined();
    expect(await b.claim('随访-7', 'node-b')).toEqual({ claimed: true, owner: { nodeId: 'node-b', epoch: owner.epoch + 1 } });
    expect(await a.extend('随访-7', owner)).toBe(false);
  });

  it('10 simultaneous first claims of a room through 3 nodes, 50 times: never two owners', async () => {
    const ns = `t-${randomUUID()}`;
    const nodes = [leases(ns), leases(ns), leases(ns)];
    await connected();
    for (let round = 0; round < 50; round++) {
      const room = `room-${round}`;
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => nodes[i % 3]!.claim(room, `node-${i % 3}`)));
      const winners = results.filter((r) => r.claimed);
      expect(winners, `round ${round}`).toHaveLength(1);
      // Everyone agrees on who won, and at which epoch.
      for (const r of results) expect(r.owner).toEqual(winners[0]!.owner);
      expect(winners[0]!.owner.epoch).toBe(1);
    }
  });
});

describe('node registry', () => {
  const info = (id: string, load: number, state: NodeInfo['state'] = 'serving'): NodeInfo => ({
    id,
    route: `http://127.0.0.1:${3000 + Number(id.slice(-1))}`,
    mediaAddresses: [`127.0.0.${id.slice(-1)}`],
    version: '0.1.0',
    load,
    state,
  });

  it('lists live registrations; a node that stops its heartbeat is gone after its TTL; draining nodes take no rooms', async () => {
    const keys = new ClusterKeys(`t-${randomUUID()}`);
    const registry = new NodeRegistry(client(), keys, { ttlMs: 400, heartbeatMs: 100 });
    await connected();
    await registry.announce(info('node-1', 5));
    let beating = info('node-2', 1);
    await registry.start(
      () => beating,
      () => undefined,
    );
    expect((await registry.nodes()).map((n) => n.id).sort()).toEqual(['node-1', 'node-2']);
    await sleep(600); // node-1 announced once and went silent
    expect((await registry.nodes()).map((n) => n.id)).toEqual(['node-2']);
    beating = { ...beating, state: 'draining' };
    await sleep(250);
    expect(await registry.serving()).toEqual([]);
    await registry.withdraw('node-2');
    expect(await registry.nodes()).toEqual([]);
  });

  it('places a room on the less loaded of two random serving nodes', () => {
    const nodes = [info('node-1', 10), info('node-2', 2), info('node-3', 7), info('node-4', 0, 'draining')];
    const picks = new Map<string, number>();
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 300; i++) {
      const id = placeRoom(nodes, random)!.id;
      picks.set(id, (picks.get(id) ?? 0) + 1);
    }
    expect(picks.get('node-4')).toBeUndefined(); // draining
    expect(picks.get('node-1')).toBeUndefined(); // never the less loaded of any pair
    expect(picks.get('node-2')!).toBeGreaterThan(picks.get('node-3')!);
    expect(placeRoom([info('node-9', 1, 'draining')])).toBeUndefined();
  });

  it('every key it writes has a TTL', async () => {
    const ns = `t-${randomUUID()}`;
    const keys = new ClusterKeys(ns);
    const redis = client();
    const lease = leases(ns);
    await connected();
    await new NodeRegistry(redis, keys, { ttlMs: 5000, heartbeatMs: 1000 }).announce(info('node-1', 1));
    await lease.claim('会诊-ttl', 'node-1');
    const written = await redis.keys(`${ns}:*`);
    expect(written.length).toBe(4);
    for (const key of written) expect(await redis.pttl(key), key).toBeGreaterThan(0);
  });
});

describe('Redis outage', () => {
  it('calls fail within the command timeout while Redis is down, and work again when it returns', async () => {
    const own = await startRedis();
    const redis = connectRedis({ url: own.url }, quiet, 500);
    try {
      await whenReady(redis);
      const lease = new RoomLeases(redis, new ClusterKeys('outage'), { ttlMs: 5000, epochTtlMs: 60_000 });
      expect((await lease.claim('会诊-outage', 'node-a')).claimed).toBe(true);
      await own.kill();
      const started = Date.now();
      await expect(lease.claim('会诊-outage-2', 'node-a')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3000);
      const back = await startRedis(own.port);
      try {
        // Even an empty Redis: the client reconnects by itself and claims work again.
        const deadline = Date.now() + 5000;
        let claimed = false;
        while (!claimed && Date.now() < deadline) {
          claimed = await lease.claim('会诊-outage-2', 'node-a').then(
            (r) => r.claimed,
            () => false,
          );
          if (!claimed) await sleep(200);
        }
        expect(claimed).toBe(true);
      } finally {
        await back.stop();
      }
    } finally {
      redis.disconnect();
      await own.stop();
    }
  });
});
