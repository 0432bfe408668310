/**
 * The Grafana dashboard in ops/grafana is built on metric names this server really exports: every
 * `telemed_*` name its queries use appears in /metrics of a clustered node (the cluster and edge
 * figures only exist there), so a renamed metric cannot silently empty a panel. A histogram's
 * `_bucket` / `_sum` / `_count` series count as its name.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaServer } from '../../server/MediaServer.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let redis: RedisServer;
let node: MediaServer;

beforeAll(async () => {
  redis = await startRedis();
  node = await startTestServer({ REDIS_URL: redis.url, CLUSTER_NODE_ID: 'node-grafana', CLUSTER_NAMESPACE: `g${Date.now()}` });
});
afterAll(async () => {
  await node?.close();
  await redis?.stop();
});

describe('Grafana dashboard', () => {
  it('uses only metrics that /metrics exports', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(root, 'ops', 'grafana', 'telemed-dashboard.json'), 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const used = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/telemed_[a-z_]+/g) ?? [])));
    expect(used.size).toBeGreaterThan(10);
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const types = new Map(
      text.split('\n').flatMap((line) => (line.startsWith('# TYPE ') ? [[line.split(' ')[2]!, line.split(' ')[3]!] as const] : [])),
    );
    // A histogram's queries use its series (`_bucket`, `_sum`, `_count`), named after it.
    const exported = (name: string) => types.has(name) || types.get(name.replace(/_(bucket|sum|count)$/, '')) === 'histogram';
    expect([...used].filter((name) => !exported(name))).toEqual([]);
  });
});
