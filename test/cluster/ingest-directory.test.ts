/**
 * RedisIngestDirectory against a real Redis: two nodes' directories in one namespace. An ingest kept
 * through one is found through the other; one past its expiry is not found (and is dropped); a state
 * written after a revocation does not bring the ingest back; a revocation through one node is heard
 * by the other; a node that was cut off while an ingest was revoked learns it when Redis is back; and
 * while Redis is away, what cannot be told is refused as UNAVAILABLE, not answered wrongly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../server/cluster/keys.js';
import type { IngestRecord } from '../../server/ingest/IngestDirectory.js';
import { RedisIngestDirectory } from '../../server/ingest/RedisIngestDirectory.js';
import { createLogger } from '../../server/logger.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const log = createLogger('silent');
const ROOM = 'xh-gkjk-2026-12-12';
const SITE = { id: 'xiehe-publicity', name: '协和医院宣传科', level: 'tertiary_hospital' as const };

let redis: RedisServer | undefined;
let keys: ClusterKeys;
const directories: RedisIngestDirectory[] = [];
let sequence = 0;

function directory(): RedisIngestDirectory {
  const d = new RedisIngestDirectory({ url: redis!.url }, keys, log);
  directories.push(d);
  return d;
}

/** An ingest of the room, created `createdAgoMs` ago with a lifetime of `ttlSeconds`. */
function record(ttlSeconds = 3600, createdAgoMs = 0): IngestRecord {
  sequence++;
  const createdAt = Date.now() - createdAgoMs;
  return {
    info: {
      id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
      room: ROOM,
      protocol: 'whip',
      name: '骨科健康讲座演播室',
      site: SITE,
      state: 'waiting',
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(createdAt + ttlSeconds * 1000).toISOString(),
      createdBy: 'admin:ops-zhou-min',
      participantId: null,
      url: `http://127.0.0.1:1/whip/${sequence}`,
    },
    roomKind: 'broadcast',
    caseId: null,
    ttlSeconds,
    tokenHash: 'ab'.repeat(32),
    changedAt: createdAt,
  };
}

const heardBy = (d: RedisIngestDirectory): string[] => {
  const heard: string[] = [];
  d.onRemoved((id) => heard.push(id));
  return heard;
};

beforeAll(async () => {
  redis = await startRedis();
  keys = new ClusterKeys(`ingests${Date.now()}`);
});

afterAll(async () => {
  for (const d of directories) d.close();
  await redis?.stop();
});

describe('the ingests of a cluster in Redis', () => {
  it('an ingest kept through one node is found and listed through another; an expired one is not', async () => {
    const [one, two] = [directory(), directory()];
    const kept = record();
    await one.add(kept);
    expect(await two.find(kept.info.id)).toEqual(kept);
    const old = record(60, 61_000); // its token expired a second ago
    await one.add(old);
    expect(await two.find(old.info.id)).toBeUndefined();
    const listed = await two.list(ROOM);
    expect(listed.map((r) => r.info.id)).toContain(kept.info.id);
    expect(listed.map((r) => r.info.id)).not.toContain(old.info.id);
    expect(await two.list('another-room')).toEqual([]);
    // Dropped from Redis once seen expired: nothing accumulates.
    await until(
      'the expired entry dropped',
      async () => ((await one.list()).some((r) => r.info.id === old.info.id) ? undefined : true),
      3000,
      100,
    );
  });

  it('a state change is written over the entry, but never brings back a revoked ingest', async () => {
    const [one, two] = [directory(), directory()];
    const ingest = record();
    await one.add(ingest);
    one.update({ ...ingest, info: { ...ingest.info, state: 'live', participantId: 'p-1' }, changedAt: Date.now() });
    await until(
      'the live state seen through the other node',
      async () => ((await two.find(ingest.info.id))?.info.state === 'live' ? true : undefined),
      3000,
      50,
    );
    expect(await two.remove(ingest.info.id)).toBe(true);
    expect(await two.remove(ingest.info.id)).toBe(false);
    one.update({ ...ingest, info: { ...ingest.info, state: 'ended' }, changedAt: Date.now() });
    await new Promise((r) => setTimeout(r, 200));
    expect(await one.find(ingest.info.id)).toBeUndefined();
  });

  it('a revocation through one node is heard by the others', async () => {
    const [one, two] = [directory(), directory()];
    const heard = heardBy(one);
    await new Promise((r) => setTimeout(r, 200)); // both subscribed
    const ingest = record();
    await two.add(ingest);
    expect(await two.remove(ingest.info.id)).toBe(true);
    await until('the revocation heard', () => (heard.includes(ingest.info.id) ? true : undefined), 3000, 50);
  });

  it('a node cut off while an ingest it knows was revoked learns it when Redis is back; meanwhile it refuses to guess', async () => {
    const [one] = [directory()];
    const heard = heardBy(one);
    const ingest = record();
    await one.add(ingest);
    const port = redis!.port;
    await redis!.kill();
    // Cannot tell whether it exists: refused, with a retry hint.
    await expect(one.find(ingest.info.id)).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { retryAfterSeconds: '3' } });
    await expect(one.add(record())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(one.remove(ingest.info.id)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Back empty (no persistence): the revocation was never published to this node, and the entry is gone.
    redis = await startRedis(port);
    await until('the missed revocation learnt', () => (heard.includes(ingest.info.id) ? true : undefined), 10_000, 100);
  }, 20_000);
});
