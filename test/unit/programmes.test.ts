/**
 * The programme pieces without a server: the store survives a restart and ignores a damaged file, a
 * replay's playlist is finalised as VOD and purged after its retention date, HLS players are counted
 * within their window, and every word the programme page uses exists in both languages.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import type { HlsService } from '../../server/media/HlsService.js';
import { HlsWatchers } from '../../server/programmes/HlsWatchers.js';
import { ProgrammeService } from '../../server/programmes/ProgrammeService.js';
import { FileProgrammeStore, type ProgrammeRecord } from '../../server/programmes/ProgrammeStore.js';
import { finalisePlaylist, ReplayArchive } from '../../server/programmes/ReplayArchive.js';
import type { Room } from '../../server/rooms/Room.js';
import type { RoomRegistry } from '../../server/rooms/RoomRegistry.js';
import { until } from '../helpers/until.js';

const log = createLogger('silent');
const STREAM_KEY = 'hx-xc-1205-0123456789abcdef01234567';
/** A finished HLS stream of room hx-xc-1205 under `data` (as FFmpeg leaves it), with one segment. */
function finishedStream(data: string): string {
  const stream = path.join(data, 'hls', STREAM_KEY);
  mkdirSync(stream, { recursive: true });
  writeFileSync(path.join(stream, 'index.m3u8'), '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:1.0,\nsegment_00000.ts\n');
  writeFileSync(path.join(stream, 'segment_00000.ts'), 'ts');
  return stream;
}
/** Keeps `r` as it is (what a save does, without its rules). */
const keepRecord = (store: FileProgrammeStore, r: ProgrammeRecord) => store.change(r.room, () => r);
const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'programmes-'));
const record = (room: string, over: Partial<ProgrammeRecord> = {}): ProgrammeRecord => ({
  room,
  kind: 'broadcast',
  details: {
    title: '儿童哮喘的日常护理',
    description: '',
    scheduledStart: '2026-12-05T10:00:00+08:00',
    presenterName: '李娜',
    hospital: '四川大学华西医院',
    visibility: 'public',
    replay: { allowed: true, retentionDays: 7 },
  },
  createdAt: '2026-11-30T00:00:00.000Z',
  updatedAt: '2026-11-30T00:00:00.000Z',
  updatedBy: 'staff-li-na',
  startedAt: null,
  endedAt: null,
  replay: null,
  ...over,
});

describe('ProgrammeStore', () => {
  it('keeps programmes across a restart and ignores a damaged file', async () => {
    const dir = tempDir();
    await keepRecord(new FileProgrammeStore(dir, log), record('hx-xc-1205'));
    writeFileSync(path.join(dir, 'broken.json'), '{"room": "x", "details": {"title": ""}}');
    const again = new FileProgrammeStore(dir, log);
    expect(again.get('hx-xc-1205')?.details.presenterName).toBe('李娜');
    expect(again.all().map((r) => r.room)).toEqual(['hx-xc-1205']);
  });
});

describe('replays', () => {
  it('an EVENT playlist becomes VOD with one ENDLIST', () => {
    const event = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:1.0,\nsegment_00000.ts\n';
    const vod = finalisePlaylist(event);
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod).not.toContain('EVENT');
    expect(vod.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(finalisePlaylist(vod).match(/ENDLIST/g)).toHaveLength(1);
  });

  it('keeps a finished stream until its retention date, then deletes it', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await keepRecord(store, record('hx-xc-1205'));
    const archive = new ReplayArchive(path.join(data, 'replays'), store, log);
    const stream = finishedStream(data);
    writeFileSync(path.join(stream, 'input.sdp'), 'v=0');
    const room = { id: 'hx-xc-1205' } as Room;
    expect(archive.keeps(room)).toBe(true);
    await archive.keep(room, stream);

    const kept = store.get('hx-xc-1205')!.replay!;
    const folder = path.join(data, 'replays', kept.key);
    expect(kept.url).toBe(`/replays/${kept.key}/index.m3u8`);
    expect(readFileSync(path.join(folder, 'index.m3u8'), 'utf8')).toContain('#EXT-X-ENDLIST');
    expect(existsSync(path.join(folder, 'input.sdp'))).toBe(false);
    expect(existsSync(stream)).toBe(false);
    const until = Date.parse(kept.retainUntil);
    expect(until - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);

    expect(await archive.purge(until - 1)).toBe(0);
    expect(existsSync(folder)).toBe(true);
    expect(await archive.purge(until)).toBe(1);
    expect(existsSync(folder)).toBe(false);
    expect(store.get('hx-xc-1205')!.replay).toBeNull();
  });

  it('a replay folder no programme names (withdrawn or purged through another node, a failed keep) is deleted at the purge', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    const replays = path.join(data, 'replays');
    const named = 'hx-xc-1205-aaaaaaaaaaaaaaaaaaaaaaaa';
    const orphan = 'hx-xc-1206-bbbbbbbbbbbbbbbbbbbbbbbb';
    await keepRecord(
      store,
      record('hx-xc-1205', { replay: { key: named, url: `/replays/${named}/index.m3u8`, retainUntil: '2099-01-01T00:00:00.000Z' } }),
    );
    for (const key of [named, orphan]) mkdirSync(path.join(replays, key), { recursive: true });
    const archive = new ReplayArchive(replays, store, log);
    expect(await archive.purge()).toBe(0);
    expect(existsSync(path.join(replays, named))).toBe(true);
    expect(existsSync(path.join(replays, orphan))).toBe(false);
  });

  it('a replay kept while the store refuses (Redis away) is named at the next purge, not deleted as an orphan', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await keepRecord(store, record('hx-xc-1205'));
    const change = store.change.bind(store);
    let refuse = true;
    store.change = (room, fn) => (refuse ? Promise.reject(new Error('redis unreachable')) : change(room, fn));
    const archive = new ReplayArchive(path.join(data, 'replays'), store, log);
    const stream = finishedStream(data);
    await expect(archive.keep({ id: 'hx-xc-1205' } as Room, stream)).rejects.toThrow(/unreachable/);
    const folder = path.join(data, 'replays', STREAM_KEY);
    await archive.purge();
    expect(existsSync(folder)).toBe(true); // waiting to be named, not an orphan
    refuse = false;
    await archive.purge();
    expect(store.get('hx-xc-1205')?.replay?.key).toBe(STREAM_KEY);
    expect(existsSync(folder)).toBe(true);
  });

  it('withdrawn while the stream was being finalised: nothing kept, the folder deleted', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await keepRecord(store, record('hx-xc-1205'));
    const archive = new ReplayArchive(path.join(data, 'replays'), store, log);
    const stream = finishedStream(data);
    const keeping = archive.keep({ id: 'hx-xc-1205' } as Room, stream);
    await keepRecord(store, record('hx-xc-1205', { details: { ...record('x').details, replay: { allowed: false, retentionDays: 7 } } }));
    await expect(keeping).rejects.toThrow(/no longer allows/);
    expect(store.get('hx-xc-1205')?.replay).toBeNull();
    expect(existsSync(path.join(data, 'replays', STREAM_KEY))).toBe(false);
  });

  it('clustered, a kept replay is named by its URL under this node’s route', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await keepRecord(store, record('hx-xc-1205'));
    const archive = new ReplayArchive(path.join(data, 'replays'), store, log, (p) => `https://consult.example.cn/n2${p}`);
    const stream = finishedStream(data);
    await archive.keep({ id: 'hx-xc-1205' } as Room, stream);
    const kept = store.get('hx-xc-1205')!.replay!;
    expect(kept.url).toBe(`https://consult.example.cn/n2/replays/${kept.key}/index.m3u8`);
    expect(await archive.purge(0)).toBe(0); // named: not an orphan
    expect(existsSync(path.join(data, 'replays', kept.key))).toBe(true);
  });

  it('a programme without replay keeps nothing', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    await keepRecord(store, record('no-replay', { details: { ...record('x').details, replay: { allowed: false, retentionDays: 7 } } }));
    const archive = new ReplayArchive(path.join(data, 'replays'), store, log);
    expect(archive.keeps({ id: 'no-replay' } as Room)).toBe(false);
    await expect(archive.keep({ id: 'no-replay' } as Room, path.join(data, 'hls', 'x'))).rejects.toThrow(/no longer allows/);
  });
});

describe('ProgrammeService at start', () => {
  it('ends what was live when this node stopped, unless (clustered) another node serves that room now', async () => {
    const data = tempDir();
    const store = new FileProgrammeStore(path.join(data, 'programmes'), log);
    const live = { startedAt: '2026-11-30T11:00:00.000Z' };
    // In this order: once 'left-here' has ended, 'moved-on' has been looked at.
    await keepRecord(store, record('moved-on', live));
    await keepRecord(store, record('left-here', live));
    await keepRecord(store, record('not-started'));
    const asked: string[] = [];
    new ProgrammeService({
      store,
      replays: new ReplayArchive(path.join(data, 'replays'), store, log),
      rooms: { onOpened: () => undefined, get: () => undefined } as unknown as RoomRegistry,
      hls: {} as HlsService,
      watchers: new HlsWatchers(),
      log,
      cluster: {
        route: () => 'https://consult.example.cn/n1',
        servedElsewhere: (room) => (asked.push(room), Promise.resolve(room === 'moved-on' ? 'https://consult.example.cn/n2' : undefined)),
      },
    });
    await until('left-here ended', () => store.get('left-here')?.endedAt ?? undefined);
    expect(store.get('moved-on')?.endedAt).toBeNull();
    expect(store.get('not-started')?.endedAt).toBeNull();
    expect(asked).toEqual(['moved-on', 'left-here']);
  });
});

describe('HlsWatchers', () => {
  it('counts the players seen in the last 15 s, each once', () => {
    const w = new HlsWatchers();
    w.saw('s1', 'aaaaaaaa', 0);
    w.saw('s1', 'aaaaaaaa', 1000);
    w.saw('s1', 'bbbbbbbb', 5000);
    w.saw('s2', 'cccccccc', 5000);
    expect(w.count('s1', 6000)).toBe(2);
    expect(w.count('s1', 16_500)).toBe(1);
    expect(w.count('s1', 30_000)).toBe(0);
    expect(w.count('s2', 6000)).toBe(1);
  });
});

describe('the programme page’s words', () => {
  it('every data-i18n* key in watch.html exists in zh-CN and en', async () => {
    const dir = path.resolve('server/public');
    const { MESSAGES } = (await import(pathToFileURL(path.join(dir, 'i18n-messages.js')).href)) as {
      MESSAGES: Record<'zh-CN' | 'en', Record<string, string>>;
    };
    const html = readFileSync(path.join(dir, 'watch.html'), 'utf8');
    const keys = [...html.matchAll(/\sdata-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(15);
    for (const lang of ['zh-CN', 'en'] as const)
      expect(
        keys.filter((k) => !(k in MESSAGES[lang])),
        lang,
      ).toEqual([]);
  });
});
