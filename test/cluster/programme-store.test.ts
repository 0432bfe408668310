/**
 * RedisProgrammeStore against a real Redis: two nodes' stores in one namespace see each other's
 * programmes and hear of each other's changes (not of their own); changes made at the same moment
 * from the same version — the serving node marking a programme ended while a moderator's edit goes
 * through another node — both survive; a store started later reads what is there. A node that ran
 * alone before joining copies its programmes in, replays named under its route, and keeps their folders.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../server/cluster/keys.js';
import { createLogger } from '../../server/logger.js';
import { startProgrammes } from '../../server/programmes/index.js';
import { FileProgrammeStore, type ProgrammeRecord } from '../../server/programmes/ProgrammeStore.js';
import { RedisProgrammeStore } from '../../server/programmes/RedisProgrammeStore.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const log = createLogger('silent');
const ROOM = 'hx-kfxl-2026-12-10';
const PROGRAMME: ProgrammeRecord = {
  room: ROOM,
  kind: 'training',
  details: {
    title: '基层医生康复训练：脑卒中后的早期康复',
    description: '',
    scheduledStart: '2026-12-10T14:00:00+08:00',
    presenterName: '陈静',
    hospital: '四川大学华西医院',
    visibility: 'registered',
    replay: { allowed: true, retentionDays: 14 },
  },
  createdAt: '2026-11-30T08:00:00.000Z',
  updatedAt: '2026-11-30T08:00:00.000Z',
  updatedBy: 'hx-chen-jing',
  startedAt: '2026-11-30T09:00:00.000Z',
  endedAt: null,
  replay: null,
};

let redis: RedisServer | undefined;
const stores: RedisProgrammeStore[] = [];
let keys: ClusterKeys;

function store(): RedisProgrammeStore {
  const s = new RedisProgrammeStore({ url: redis!.url }, keys, log);
  stores.push(s);
  return s;
}

beforeAll(async () => {
  redis = await startRedis();
  keys = new ClusterKeys(`ps${Date.now()}`);
});

afterAll(async () => {
  for (const s of stores) s.close();
  await redis?.stop();
});

describe('RedisProgrammeStore', () => {
  it('a programme kept through one node is on the other, which hears of the change (the writer does not)', async () => {
    const [a, b] = [store(), store()];
    await Promise.all([a.ready, b.ready]);
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a.onChanged((r) => heardByA.push(r.room));
    b.onChanged((r) => heardByB.push(r.room));
    await a.change(ROOM, () => PROGRAMME);
    expect(a.get(ROOM)?.details.presenterName).toBe('陈静');
    await until('node B has it', () => b.get(ROOM));
    expect(heardByB).toEqual([ROOM]);
    expect(heardByA).toEqual([]);
  });

  it('two changes made from the same version at the same moment both survive', async () => {
    const [a, b] = [store(), store()];
    await Promise.all([a.ready, b.ready]);
    await until('both read it', () => (a.get(ROOM) && b.get(ROOM)) || undefined);
    const ended = '2026-11-30T10:00:00.000Z';
    // The serving node marks it ended while a moderator's edit goes through the other node, and a
    // second edit on the serving node itself: all three start from the version each node holds now.
    const results = await Promise.all([
      a.change(ROOM, (r) => r && { ...r, endedAt: ended }),
      b.change(ROOM, (r) => r && { ...r, details: { ...r.details, title: '脑卒中后的早期康复（第二讲）' } }),
      a.change(ROOM, (r) => r && { ...r, updatedBy: 'hx-li-hua' }),
    ]);
    expect(results.every((r) => r !== undefined)).toBe(true);
    const late = store();
    await late.ready;
    const kept = late.get(ROOM)!;
    expect(kept.endedAt).toBe(ended);
    expect(kept.details.title).toBe('脑卒中后的早期康复（第二讲）');
    expect(kept.updatedBy).toBe('hx-li-hua');
    await until('node A has the whole of it', () => (a.get(ROOM)?.details.title === kept.details.title ? true : undefined));
    expect(a.get(ROOM)?.endedAt).toBe(ended);
  });

  it('a change that decides on nothing writes nothing', async () => {
    const a = store();
    await a.ready;
    const before = a.get(ROOM);
    expect(await a.change(ROOM, () => undefined)).toEqual(before);
    expect(await a.change('no-such-room', (r) => r)).toBeUndefined();
    expect(a.get('no-such-room')).toBeUndefined();
  });

  it('a node that ran alone copies its programmes in when it joins: replays named under its route, their folders kept', async () => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'adopt-'));
    const key = 'hx-jkjy-0401-aaaaaaaaaaaaaaaaaaaaaaaa';
    const alone: ProgrammeRecord = {
      ...PROGRAMME,
      room: 'hx-jkjy-0401',
      kind: 'broadcast',
      endedAt: '2026-11-30T10:00:00.000Z',
      replay: { key, url: `/replays/${key}/index.m3u8`, retainUntil: '2099-01-01T00:00:00.000Z' },
    };
    const liveWhenStopped: ProgrammeRecord = { ...PROGRAMME, room: 'hx-jkjy-0402', endedAt: null };
    const disk = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await disk.change(alone.room, () => alone);
    await disk.change(liveWhenStopped.room, () => liveWhenStopped);
    await disk.change(ROOM, () => ({ ...PROGRAMME, details: { ...PROGRAMME.details, title: '旧标题' } })); // the cluster has its own
    mkdirSync(path.join(data, 'replays', key), { recursive: true });

    const programmes = startProgrammes(data, log, {
      redis: { url: redis!.url },
      namespace: keys.namespace,
      route: () => 'https://consult.example.cn/n3',
      servedElsewhere: () => Promise.resolve(undefined),
    });
    try {
      expect(await programmes.adoptFromDisk()).toBe(2);
      const other = store();
      await until('the cluster has them', () => other.get(alone.room) && other.get(liveWhenStopped.room));
      expect(other.get(alone.room)?.replay?.url).toBe(`https://consult.example.cn/n3/replays/${key}/index.m3u8`);
      expect(other.get(liveWhenStopped.room)?.endedAt).not.toBeNull();
      expect(other.get(ROOM)?.details.title).not.toBe('旧标题');
      await programmes.replays.purge(); // the start-up sweep's check, once more: the folder is named
      expect(existsSync(path.join(data, 'replays', key))).toBe(true);
      expect(await programmes.adoptFromDisk()).toBe(0); // done once
    } finally {
      programmes.close();
    }
  });
});
