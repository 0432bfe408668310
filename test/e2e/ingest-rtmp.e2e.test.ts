/**
 * A programme from an RTMP-only encoder: FFmpeg publishes a generated H.264/AAC test pattern over
 * RTMP on loopback to the ingest's listener. Viewers using the SDK decode the video and hear the
 * audio; the encoder killed and restarted within the grace period continues the same programme (the
 * presenter never leaves, the picture comes back); a High-profile stream with B-frames is re-encoded; a wrong stream key
 * publishes nothing.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestGrant } from '../../signaling/protocol/index.js';
import { pathStats, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { ingestPresenter, joinBroadcastLead, joinViewer } from '../helpers/ingest.js';
import { ok, type TestClient } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { publishRtmp, tcpListening, type RtmpPublisher } from '../../bench/lib/rtmpPublisher.js';

const ROOM = 'e2e-rtmp-broadcast';
const STUDIO = '糖尿病饮食讲座';
const env = useTestEnvironment({ browser: true, env: { INGEST_HEALTH_INTERVAL_MS: '1000', INGEST_GRACE_SECONDS: '30' } });
const publishers: RtmpPublisher[] = [];
let lead: TestClient;
let grant: IngestGrant;
let viewer: Page;

const portOf = (url: string) => Number(new URL(url.replace(/^rtmp:/, 'http:')).port);
const publish = (url: string, options: { bframes?: boolean } = {}) => {
  const publisher = publishRtmp(url, options);
  publishers.push(publisher);
  return publisher;
};
const presenterOf = (ingestId: string) => ingestPresenter(env, ROOM, ingestId);
const decoded = async (name: string, kind: 'video' | 'audio'): Promise<number> => {
  const stats = await pathStats(viewer);
  const inbound = stats.inbound.find((i) => i.name === name && i.kind === kind);
  return kind === 'video' ? (inbound?.framesDecoded ?? 0) : (inbound?.totalAudioEnergy ?? 0);
};

beforeAll(async () => {
  lead = await joinBroadcastLead(env, ROOM, 'sun-zhuren', '孙主任');
});
afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
});

describe('RTMP ingest into a broadcast', () => {
  it('a wrong stream key publishes nothing', async () => {
    grant = ok(
      await lead.request('createIngest', {
        protocol: 'rtmp',
        name: STUDIO,
        site: { id: 'renmin-edu', name: '人民医院健康教育科', level: 'tertiary_hospital' },
      }),
    );
    expect(grant.ingest.url).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(grant.publishUrl).toBe(`${grant.ingest.url}/${grant.token}`);
    await until('the RTMP listener', async () => ((await tcpListening(portOf(grant.ingest.url))) ? true : undefined), 15_000, 200);
    const wrong = publish(`${grant.ingest.url}/not-the-key`);
    expect(await wrong.exited).not.toBe(0);
    expect(presenterOf(grant.ingest.id)).toBeUndefined();
  }, 30_000);

  it('FFmpeg publishes H.264/AAC; viewers decode the video and hear the audio', async () => {
    await until('the RTMP listener', async () => ((await tcpListening(portOf(grant.ingest.url))) ? true : undefined), 15_000, 200);
    publish(grant.publishUrl);
    viewer = await joinViewer(env, ROOM, 'viewer-rtmp', '周患者');
    await waitForStats(
      viewer,
      (s) =>
        s.inbound.some((i) => i.name === STUDIO && i.kind === 'video' && i.framesDecoded > 10) &&
        s.inbound.some((i) => i.name === STUDIO && i.kind === 'audio' && i.totalAudioEnergy > 0),
      45_000,
    );
    const update = await lead.next('ingestUpdated', ({ ingest }) => ingest.id === grant.ingest.id && !!ingest.health, 30_000);
    expect(update.ingest).toMatchObject({ state: 'live', health: { videoMode: 'copy' } });
    expect(update.ingest.health!.bitrateBps).toBeGreaterThan(0);
  }, 90_000);

  it('the encoder killed and restarted within the grace period continues the programme: same presenter and producers, picture, sound', async () => {
    const presenter = presenterOf(grant.ingest.id)!;
    const producers = presenter
      .media()
      .producers.map((p) => p.id)
      .sort();
    const reconnecting = lead.next(
      'ingestUpdated',
      ({ ingest }) => ingest.id === grant.ingest.id && ingest.state === 'reconnecting',
      20_000,
    );
    await publishers.at(-1)!.kill();
    await reconnecting;
    const energyBefore = await decoded(STUDIO, 'audio');
    const framesBefore = await decoded(STUDIO, 'video');

    await until('the RTMP listener again', async () => ((await tcpListening(portOf(grant.ingest.url))) ? true : undefined), 15_000, 200);
    const live = lead.next('ingestUpdated', ({ ingest }) => ingest.id === grant.ingest.id && ingest.state === 'live', 30_000);
    publish(grant.publishUrl);
    await live;
    await until('sound after the restart', async () => ((await decoded(STUDIO, 'audio')) > energyBefore ? true : undefined), 45_000, 500);
    // The picture too: the new relay's stream is spliced on where the old one ended (RtpSplice), so
    // the browser does not drop its frames as older than the last one it decoded.
    await until(
      'the picture after the restart',
      async () => ((await decoded(STUDIO, 'video')) > framesBefore + 10 ? true : undefined),
      15_000,
      500,
    );
    // The same presenter with the same producers: nobody saw it leave.
    expect(presenterOf(grant.ingest.id)).toBe(presenter);
    expect(
      presenter
        .media()
        .producers.map((p) => p.id)
        .sort(),
    ).toEqual(producers);
    expect(lead.received.filter((m) => m.name === 'participantLeft')).toEqual([]);
    const left = await viewer.evaluate(() =>
      (window as unknown as { t: { events: unknown[][] } }).t.events.filter((e) => e[0] === 'participantLeft'),
    );
    expect(left).toEqual([]);
  }, 120_000);

  it('a High-profile stream with B-frames is re-encoded and decoded by the viewers', async () => {
    const second = ok(await lead.request('createIngest', { protocol: 'rtmp', name: '康复操示范' }));
    await until('the second listener', async () => ((await tcpListening(portOf(second.ingest.url))) ? true : undefined), 15_000, 200);
    publish(second.publishUrl, { bframes: true });
    await waitForStats(viewer, (s) => s.inbound.some((i) => i.name === '康复操示范' && i.kind === 'video' && i.framesDecoded > 10), 60_000);
    const update = await lead.next('ingestUpdated', ({ ingest }) => ingest.id === second.ingest.id && !!ingest.health, 30_000);
    expect(update.ingest.health!.videoMode).toBe('transcode');
    ok(await lead.request('revokeIngest', { ingestId: second.ingest.id }));
    await until('the revoked presenter gone', () => (presenterOf(second.ingest.id) ? undefined : true), 10_000);
  }, 120_000);
});
