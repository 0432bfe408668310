/**
 * The first picture of a simulcast camera comes from its smallest layer, then sharpens: a doctor
 * joining decodes a 320-pixel-wide first frame of a 1280×720 camera, and is then raised to the top
 * layer (the server's consumer forwards spatial layer 2, the page decodes wider frames) — or to the
 * layer the page asked for before the first picture (a tile asking 'medium' at once is honoured once
 * the picture flows, not dropped, and does not cancel the quick start). Without the quick start the
 * first frame is the top layer's, 1280 wide (checked by hand, 2026-11-30). The raise waits a moment
 * after the small layer flows: done at once, the 720p key frame made with the small one overtook it
 * (seen in a full run).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { until } from '../helpers/until.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'mdt-derm-layers-0412';
const HD = { width: { exact: 1280 }, height: { exact: 720 }, frameRate: { ideal: 15 } };

/** In the page: polls every 10 ms until the first remote video frame is decoded; its width. */
const firstFrameWidth = (page: Page) =>
  page.evaluate(async () => {
    const client = (window as unknown as { t: { client: { getStats(): Promise<RTCStatsReport[]> } } }).t.client;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      for (const report of await client.getStats())
        for (const s of report.values() as IterableIterator<Record<string, unknown>>)
          if (s['type'] === 'inbound-rtp' && s['kind'] === 'video' && Number(s['framesDecoded'] ?? 0) > 0) return Number(s['frameWidth']);
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  });

/** The width of the remote video being decoded now. */
const frameWidth = (page: Page) =>
  page.evaluate(async () => {
    const client = (window as unknown as { t: { client: { getStats(): Promise<RTCStatsReport[]> } } }).t.client;
    for (const report of await client.getStats())
      for (const s of report.values() as IterableIterator<Record<string, unknown>>)
        if (s['type'] === 'inbound-rtp' && s['kind'] === 'video' && s['frameWidth']) return Number(s['frameWidth']);
    return 0;
  });

/** The server's consumer of 李医生's camera for the observer `name`. */
const consumerFor = (name: string) => {
  const room = env.server.rooms.get(ROOM)!;
  const participant = room.participants().find((p) => p.info.displayName === name)!;
  return participant.media().consumers.find((c) => c.kind === 'video')!;
};

describe('the first picture from the smallest layer', () => {
  it('a joiner decodes a small first frame of a 720p camera, then the top layer', async () => {
    const camera = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(camera, { identity: 'li-yisheng', name: '李医生', role: 'clinic_doctor', room: ROOM, camera: HD })).toBe('joined');

    // The server starts small only on a layer that flows now (scored by mediasoup about once a second).
    const cameraProducer = () =>
      env.server.rooms
        .get(ROOM)!
        .participants()
        .find((p) => p.info.displayName === '李医生')!
        .media()
        .producers.find((p) => p.kind === 'video')!;
    await until(
      'the smallest layer scored',
      () => ((cameraProducer().score.find((s) => s.encodingIdx === 0)?.score ?? 0) > 0 ? true : undefined),
      15_000,
      200,
    );

    const observer = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(observer, { identity: 'chen-zhuren', name: '陈主任', role: 'lead_specialist', room: ROOM, publish: false })).toBe(
      'joined',
    );
    // 1280 / 4 (or less, if the camera's browser scaled down under CPU load).
    const first = await firstFrameWidth(observer);
    expect(first).toBeLessThanOrEqual(320);
    await until('the top layer', () => (consumerFor('陈主任').currentLayers?.spatialLayer === 2 ? true : undefined), 30_000, 500);
    expect(consumerFor('陈主任').preferredLayers?.spatialLayer).toBe(2);
    await until('a sharper picture', async () => ((await frameWidth(observer)) > first! ? true : undefined), 10_000, 500);

    // A page that asks for 'medium' as soon as the track is shown (a thumbnail) gets it once the picture flows.
    const thumbnail = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(thumbnail, { identity: 'wu-hushi', name: '吴护士', role: 'care_team', room: ROOM, publish: false })).toBe(
      'joined',
    );
    await thumbnail.evaluate(async () => {
      type Track = { id: string; kind: string };
      const client = (window as unknown as { t: { client: { tracks: Track[]; setReceiveQuality(id: string, q: string): Promise<void> } } })
        .t.client;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && !client.tracks.some((t) => t.kind === 'video');)
        await new Promise((r) => setTimeout(r, 10));
      await client.setReceiveQuality(client.tracks.find((t) => t.kind === 'video')!.id, 'medium');
    });
    expect(await firstFrameWidth(thumbnail)).toBeLessThanOrEqual(320);
    await until('the medium layer', () => (consumerFor('吴护士').currentLayers?.spatialLayer === 1 ? true : undefined), 30_000, 500);
    expect(consumerFor('吴护士').preferredLayers?.spatialLayer).toBe(1);
    for (const page of [camera, observer, thumbnail]) await page.context().close();
  }, 120_000);
});
