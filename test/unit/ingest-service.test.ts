/**
 * What IngestService shows of an ingest in a cluster, where two views may exist: what the cluster
 * keeps (written by the node that last ran its programme) and this node's own. The newer one wins; a
 * programme another node said was running, in a room no other node serves now, died with that node
 * and is shown ended; when that cannot be told (Redis away) the kept view is shown as it is. And an
 * encoder's token is checked against the kept hash without making anything on this node.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { IngestDirectory, IngestRecord } from '../../server/ingest/IngestDirectory.js';
import { IngestService } from '../../server/ingest/IngestService.js';
import { createLogger } from '../../server/logger.js';
import type { RoomRegistry } from '../../server/rooms/RoomRegistry.js';
import { ProtocolError } from '../../signaling/protocol/index.js';

const ROOM = 'xh-gkjk-2026-12-18';
const TOKEN = 'studio-key-of-the-publicity-department';
const services: IngestService[] = [];

function kept(overrides: Partial<IngestRecord['info']> = {}, changedAt = Date.now()): IngestRecord {
  const createdAt = Date.now() - 60_000;
  return {
    info: {
      id: '00000000-0000-4000-8000-000000000001',
      room: ROOM,
      protocol: 'whip',
      name: '骨科健康讲座演播室',
      site: { id: 'xiehe-publicity', name: '协和医院宣传科', level: 'tertiary_hospital' },
      state: 'live',
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(createdAt + 3_600_000).toISOString(),
      createdBy: 'admin:ops-zhou-min',
      participantId: 'presenter-on-node-b',
      url: 'https://consult.example.cn/whip/00000000-0000-4000-8000-000000000001',
      ...overrides,
    },
    roomKind: 'broadcast',
    caseId: null,
    ttlSeconds: 3600,
    tokenHash: createHash('sha256').update(TOKEN).digest('hex'),
    changedAt,
  };
}

/** A directory holding `records` (as Redis would), nothing else. */
function directoryOf(records: IngestRecord[]): IngestDirectory {
  return {
    add: () => Promise.resolve(),
    find: (id) => Promise.resolve(records.find((r) => r.info.id === id)),
    list: (room) => Promise.resolve(records.filter((r) => room === undefined || r.info.room === room)),
    update: () => undefined,
    remove: () => Promise.resolve(true),
    onRemoved: () => undefined,
    close: () => undefined,
  };
}

function service(records: IngestRecord[], servedElsewhere: (room: string) => Promise<string | undefined>): IngestService {
  const s = new IngestService({
    rooms: {} as RoomRegistry, // no programme enters a room in these tests
    directory: directoryOf(records),
    servedElsewhere,
    options: {
      graceSeconds: 15,
      defaultTtlSeconds: 3600,
      maxTtlSeconds: 7200,
      healthIntervalMs: 60_000,
      perRoom: 4,
      rtmp: { host: '127.0.0.1', portRange: { min: 19350, max: 19359 }, ffmpegPath: 'ffmpeg' },
    },
    publicUrl: () => 'https://consult.example.cn',
    log: createLogger('silent'),
  });
  services.push(s);
  return s;
}

afterEach(() => {
  for (const s of services.splice(0)) s.closeAll();
});

describe('an ingest as a node shows it, clustered', () => {
  it('running on the node that serves its room: shown as that node wrote it', async () => {
    const s = service([kept()], () => Promise.resolve('https://consult.example.cn/n2'));
    expect(await s.describe(kept().info.id)).toMatchObject({ state: 'live', participantId: 'presenter-on-node-b', health: null });
    expect((await s.list(ROOM)).map((i) => i.state)).toEqual(['live']);
  });

  it('"live" on a node that no longer serves its room (it died): shown ended, with no presenter', async () => {
    const s = service([kept(), kept({ id: '00000000-0000-4000-8000-000000000002', state: 'reconnecting' })], () =>
      Promise.resolve(undefined),
    );
    expect(await s.describe(kept().info.id)).toMatchObject({ state: 'ended', participantId: null });
    expect((await s.list(ROOM)).map((i) => [i.state, i.participantId])).toEqual([
      ['ended', null],
      ['ended', null],
    ]);
  });

  it('waiting or ended as kept: shown as kept, nothing asked', async () => {
    let asked = 0;
    const s = service([kept({ state: 'waiting', participantId: null })], () => {
      asked++;
      return Promise.resolve(undefined);
    });
    expect((await s.describe(kept().info.id))?.state).toBe('waiting');
    expect(asked).toBe(0);
  });

  it('where its room is served cannot be told (Redis away): shown as kept', async () => {
    const s = service([kept()], () => Promise.reject(new ProtocolError('UNAVAILABLE', 'the cluster directory cannot be reached')));
    expect(await s.describe(kept().info.id)).toMatchObject({ state: 'live', participantId: 'presenter-on-node-b' });
  });

  it('one lookup per room however many of its ingests are listed', async () => {
    let asked = 0;
    const records = [1, 2, 3].map((n) => kept({ id: `00000000-0000-4000-8000-00000000000${n}` }));
    const s = service(records, () => {
      asked++;
      return Promise.resolve('https://consult.example.cn/n2');
    });
    expect(await s.list(ROOM)).toHaveLength(3);
    expect(asked).toBe(1);
  });

  it('an encoder’s token is checked against the kept hash; a wrong or expired one is refused alike', async () => {
    const s = service([kept()], () => Promise.resolve(undefined));
    expect((await s.admit(kept().info.id, TOKEN)).roomId).toBe(ROOM);
    expect(s.get(kept().info.id)).toBeUndefined(); // nothing made here until its programme runs here
    await expect(s.admit(kept().info.id, `${TOKEN}x`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(s.admit('00000000-0000-4000-8000-00000000dead', TOKEN)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const expiredAt = new Date(Date.now() - 1000).toISOString();
    const old = service([kept({ expiresAt: expiredAt })], () => Promise.resolve(undefined));
    await expect(old.admit(kept().info.id, TOKEN)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
