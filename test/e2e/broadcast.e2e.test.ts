/**
 * A health-education broadcast in real browsers: a presenter publishes, viewers are spread over
 * routers on both workers (a low per-router cap), every viewer decodes the presenter; a viewer
 * cannot publish, is brought on stage and heard by viewers on the other worker, then sent back.
 * The same broadcast goes out as HLS that ffprobe reads.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connectAndJoin, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';

const run = promisify(execFile);
const ROOM = 'e2e-broadcast';
const env = useTestEnvironment({ browser: true, env: { MEDIA_WORKERS: '2', BROADCAST_CONSUMERS_PER_ROUTER: '4' } });
let lead: TestClient;
const viewers: Page[] = [];
let presenter: Page;

beforeAll(async () => {
  const joined = await connectAndJoin(
    env.server.url,
    token({ room: ROOM, kind: 'broadcast', role: 'lead_specialist', sub: 'bc-moderator', caseId: undefined }),
  );
  lead = env.track(joined.client);
  ok(joined.ack);
});

const viewerSpec = (i: number) => ({
  identity: `viewer-${i}`,
  name: `Viewer ${i}`,
  role: 'viewer',
  room: ROOM,
  kind: 'broadcast' as const,
  caseId: null,
  site: { id: 'home', name: 'Home', level: 'village_clinic' as const },
});
const idOf = (page: Page) => page.evaluate(() => (window as unknown as { t: { client: { self: { id: string } } } }).t.client.self.id);

describe('broadcast to viewers on every core', () => {
  it('every viewer decodes the presenter, across two workers', async () => {
    presenter = await openSdkPage(env.browser, env.server.url);
    expect(
      await sdkJoin(presenter, {
        identity: 'presenter',
        name: 'Dr. Presenter',
        role: 'presenter',
        room: ROOM,
        kind: 'broadcast',
        caseId: null,
      }),
    ).toBe('joined');
    for (let i = 0; i < 4; i++) {
      const page = await openSdkPage(env.browser, env.server.url);
      expect(await sdkJoin(page, viewerSpec(i))).toBe('joined');
      viewers.push(page);
    }
    for (const page of viewers) {
      await waitForStats(page, (s) => s.inbound.some((i) => i.name === 'Dr. Presenter' && i.kind === 'video' && i.framesDecoded > 5));
    }
    const routers = env.server.rooms.get(ROOM)!.fanOut!.describe();
    // Both cores carry viewers, one router each: past the cap the least loaded takes more (no pipe hop).
    expect(routers.map((r) => r.workerIndex).sort()).toEqual([0, 1]);
    expect(routers.every((r) => r.consumers > 0)).toBe(true);
  });

  it('a viewer cannot publish, is brought on stage and heard by the others, then sent back', async () => {
    const [speaker, ...others] = viewers as [Page, ...Page[]];
    const refused = await speaker.evaluate(() =>
      (window as unknown as { t: { client: { publishMicrophone(): Promise<unknown> } } }).t.client.publishMicrophone().then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    expect(refused).toBe('FORBIDDEN');

    const speakerId = await idOf(speaker);
    ok(await lead.request('setOnStage', { participantId: speakerId, onStage: true }));
    await speaker.waitForFunction(() =>
      (window as unknown as { t: { client: { can(p: string): boolean } } }).t.client.can('publish_audio'),
    );
    expect(
      await speaker.evaluate(() =>
        (window as unknown as { t: { client: { publishMicrophone(): Promise<unknown> } } }).t.client.publishMicrophone().then(
          () => 'ok',
          (e: { code: string }) => e.code,
        ),
      ),
    ).toBe('ok');
    for (const page of [...others, presenter]) {
      await waitForStats(page, (s) => s.inbound.some((i) => i.name === 'Viewer 0' && i.kind === 'audio' && i.totalAudioEnergy > 0));
    }

    ok(await lead.request('setOnStage', { participantId: speakerId, onStage: false }));
    for (const page of others) {
      await page.waitForFunction(
        () =>
          !(window as unknown as { t: { client: { tracks: { participant: { displayName: string } }[] } } }).t.client.tracks.some(
            (t) => t.participant.displayName === 'Viewer 0',
          ),
      );
    }
    expect(
      await speaker.evaluate(() => (window as unknown as { t: { client: { can(p: string): boolean } } }).t.client.can('publish_audio')),
    ).toBe(false);
  });

  it('streams as HLS that a plain player (ffprobe) reads, and cleans up after', async () => {
    const { url } = ok(await lead.request('startHls', {}));
    expect(url).toMatch(/^\/hls\/e2e-broadcast-[0-9a-f]{24}\/index\.m3u8$/);
    const playlist = `${env.server.url}${url}`;
    // FFmpeg starts, waits for a key frame and writes 1 s segments: seconds when idle, far more on a
    // loaded 2-core machine (it once wrote none within 25 s there).
    const deadline = Date.now() + 45_000;
    let segments = 0;
    while (Date.now() < deadline && segments < 2) {
      const res = await fetch(playlist).catch(() => undefined);
      segments = res?.ok ? (await res.text()).split('\n').filter((l) => l.endsWith('.ts')).length : 0;
      if (segments < 2) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(segments).toBeGreaterThanOrEqual(2);
    const { stdout } = await run(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', playlist],
      { timeout: 30_000 },
    );
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number }[] }).streams;
    expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264' });
    expect(streams.find((s) => s.codec_type === 'video')?.width).toBeGreaterThan(0);
    expect(streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });

    ok(await lead.request('stopHls', {}));
    expect((await fetch(playlist)).status).toBe(404);
  }, 90_000);
});
