/**
 * A node's Redis client is never given up while the node runs. ioredis ends a client for good when a
 * connection attempt is abandoned instead of failing (with Sentinel: the failover detector closing the
 * connector while a reconnection asks the sentinels for the master — the Sentinel failover test hit
 * it in most runs). Here the abandoned attempt is made to happen once, against a real redis-server:
 * the connection is killed, and the next attempt's connector gives up as in that race.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, whenReady } from '../../server/cluster/redis.js';
import { startRedis, startSentinel, type RedisServer } from '../helpers/redis.js';

const MASTER_NAME = 'telemed-reconnect';
let server: RedisServer | undefined;
let sentinel: RedisServer | undefined;
const clients: Redis[] = [];
const warnings: string[] = [];
const log = { warn: (_fields: Record<string, unknown>, message: string) => void warnings.push(message) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startRedis();
  sentinel = await startSentinel({ name: MASTER_NAME, masterPort: server.port, downAfterMs: 1000, failoverTimeoutMs: 3000 });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await sentinel?.stop();
  await server?.stop();
});

/** A node's client, through Sentinel (where the driver's failover detector can abandon a reconnection). */
function client(): Redis {
  const c = connectRedis({ sentinels: [{ host: '127.0.0.1', port: sentinel!.port }], name: MASTER_NAME }, log);
  clients.push(c);
  return c;
}

interface Connector {
  connect: (...args: unknown[]) => Promise<unknown>;
}

/** The next connection attempt of `c` is abandoned (its connector rejects), as in the failover race. */
function abandonNextAttempt(c: Redis): void {
  const connector = (c as unknown as { connector: Connector }).connector;
  const real = connector.connect;
  connector.connect = () => {
    connector.connect = real;
    return Promise.reject(new Error('Connection is closed.'));
  };
}

async function killConnectionOf(c: Redis, admin: Redis): Promise<void> {
  const id = (await c.client('ID')) as number;
  await admin.client('KILL', 'ID', String(id));
}

describe('a node’s Redis client', () => {
  it('connects again after the driver gave it up, with its subscriptions', async () => {
    const admin = client();
    const subscriber = client();
    const c = client();
    await Promise.all([whenReady(admin), whenReady(subscriber), whenReady(c)]);
    const heard: string[] = [];
    await subscriber.subscribe('会诊频道');
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));

    let ended = 0;
    for (const x of [c, subscriber]) {
      x.on('end', () => ended++);
      abandonNextAttempt(x);
      await killConnectionOf(x, admin);
    }
    await expect.poll(() => ended, { timeout: 5000 }).toBe(2);
    await Promise.all([whenReady(c, 5000), whenReady(subscriber, 5000)]);
    expect(await c.set('会诊:状态', '进行中')).toBe('OK');
    expect(await c.get('会诊:状态')).toBe('进行中');
    await expect
      .poll(
        async () => {
          await admin.publish('会诊频道', '主库切换后仍能收到');
          return heard;
        },
        { timeout: 5000, interval: 200 },
      )
      .toContain('主库切换后仍能收到');
    expect(warnings).toContain('redis client given up by the driver; connecting again');
  });

  it('stays closed once closed on purpose', async () => {
    const c = client();
    await whenReady(c);
    c.disconnect();
    const q = client();
    await whenReady(q);
    await q.quit();
    await sleep(1500); // longer than the first reconnection delay
    expect([c.status, q.status]).toEqual(['end', 'end']);
  });
});
