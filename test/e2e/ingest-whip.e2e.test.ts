/**
 * A health-education programme published by an encoder over WHIP (RFC 9725) into a broadcast: the
 * encoder is a Chromium page that is not the SDK (plain RTCPeerConnection + fetch). Viewers using the
 * SDK decode its video and hear its audio; the moderator sees it live with its health; it is
 * recorded like any presenter; DELETE ends it. A wrong token gets 401 and creates nothing; an ingest
 * cannot be made for a consultation room.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IngestGrant } from '../../signaling/protocol/index.js';
import { waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { ingestPresenter as presenterOf, joinBroadcastLead, joinViewer } from '../helpers/ingest.js';
import { connectAndJoin, err, ok, type TestClient } from '../helpers/signalingClient.js';
import { adminToken, token } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { encoderState, openEncoderPage, whipDelete, whipPublish, whipRestartIce, whipTrickle } from '../helpers/whipEncoder.js';

const run = promisify(execFile);
const ROOM = 'e2e-whip-broadcast';
const STUDIO = '骨科健康讲座演播室';
const STUDIO_SITE = { id: 'xiehe-publicity', name: '协和医院宣传科', level: 'tertiary_hospital' as const };
const env = useTestEnvironment({ browser: true, env: { INGEST_HEALTH_INTERVAL_MS: '1000' } });
let lead: TestClient;
let grant: IngestGrant;
let encoder: Page;
const viewers: Page[] = [];

const ingestPresenter = () => presenterOf(env, ROOM, grant.ingest.id);

beforeAll(async () => {
  lead = await joinBroadcastLead(env, ROOM, 'wang-zhuren', '王主任');
});

describe('WHIP ingest into a broadcast', () => {
  it('a moderator creates an ingest; a wrong token gets 401 and nothing is created', async () => {
    grant = ok(await lead.request('createIngest', { protocol: 'whip', name: STUDIO, site: STUDIO_SITE }));
    expect(grant.ingest).toMatchObject({ room: ROOM, protocol: 'whip', state: 'waiting', createdBy: 'wang-zhuren', participantId: null });
    expect(grant.ingest.url).toBe(`${env.server.url}/whip/${grant.ingest.id}`);
    expect(grant.publishUrl).toBe(grant.ingest.url);

    encoder = await openEncoderPage(env.browser, env.server.url);
    const refused = await whipPublish(encoder, grant.ingest.url, `${grant.token}x`);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatch(/not valid/);
    expect(ingestPresenter()).toBeUndefined();
    expect(env.server.ingests!.get(grant.ingest.id)!.state).toBe('waiting');
  });

  it('is refused for a consultation room, over signaling and over REST', async () => {
    const consult = await connectAndJoin(
      env.server.url,
      token({
        room: 'e2e-whip-consult',
        kind: 'consultation',
        role: 'lead_specialist',
        sub: 'li-zhuren',
        name: '李主任',
        caseId: 'CASE-WHIP-1',
      }),
    );
    env.track(consult.client);
    ok(consult.ack);
    expect(err(await consult.client.request('createIngest', { protocol: 'whip', name: STUDIO })).code).toBe('FORBIDDEN');
    const moderatorToken = token({
      room: 'e2e-whip-consult',
      kind: 'consultation',
      role: 'lead_specialist',
      sub: 'li-zhuren',
      caseId: 'CASE-WHIP-1',
    });
    for (const bearer of [moderatorToken, adminToken()]) {
      const res = await fetch(`${env.server.url}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ room: 'e2e-whip-consult', protocol: 'whip', name: STUDIO, site: STUDIO_SITE }),
      });
      expect(res.status).toBe(403);
    }
    expect(env.server.ingests!.forRoom('e2e-whip-consult')).toEqual([]);
  });

  it('the hospital system creates, lists and revokes an ingest over REST; a revoked token gets 401', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminToken('ops-zhou-min')}` };
    const created = await fetch(`${env.server.url}/ingest`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ room: ROOM, protocol: 'whip', name: '护理部培训', site: STUDIO_SITE, ttlSeconds: 600 }),
    });
    expect(created.status).toBe(201);
    const rest = (await created.json()) as IngestGrant;
    expect(rest.ingest.createdBy).toBe('admin:ops-zhou-min');
    expect(Date.parse(rest.ingest.expiresAt) - Date.parse(rest.ingest.createdAt)).toBe(600_000);
    const listed = (await (await fetch(`${env.server.url}/ingest?room=${ROOM}`, { headers })).json()) as { ingests: { id: string }[] };
    expect(listed.ingests.map((i) => i.id).sort()).toEqual([grant.ingest.id, rest.ingest.id].sort());
    expect((await fetch(`${env.server.url}/ingest/${rest.ingest.id}`, { method: 'DELETE', headers })).status).toBe(204);
    const after = await whipPublish(encoder, rest.ingest.url, rest.token);
    expect(after.status).toBe(401);
    expect(
      (await fetch(`${env.server.url}/ingest`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(401);
  });

  it('an encoder publishes; viewers decode its video and hear its audio; the moderator sees it live', async () => {
    const published = await whipPublish(encoder, grant.ingest.url, grant.token);
    expect(published.status, published.body).toBe(201);
    expect(published.contentType).toMatch(/^application\/sdp/);
    expect(published.location).toMatch(new RegExp(`^/whip/${grant.ingest.id}/sessions/[0-9a-f]{32}$`));
    expect(published.body).toMatch(/^a=ice-lite$/m);

    for (const [i, name] of ['赵患者', '钱患者'].entries()) viewers.push(await joinViewer(env, ROOM, `viewer-${i}`, name));
    for (const page of viewers) {
      await waitForStats(
        page,
        (s) =>
          s.inbound.some((i) => i.name === STUDIO && i.kind === 'video' && i.framesDecoded > 10) &&
          s.inbound.some((i) => i.name === STUDIO && i.kind === 'audio' && i.totalAudioEnergy > 0),
        30_000,
      );
    }
    const update = await lead.next(
      'ingestUpdated',
      ({ ingest }) => ingest.state === 'live' && (ingest.health?.bitrateBps ?? 0) > 0,
      30_000,
    );
    expect(update.ingest.participantId).toBe(ingestPresenter()!.id);
    expect(update.ingest.health).toMatchObject({ videoMode: null });
    expect(update.ingest.health!.frameRate).toBeGreaterThan(0);
    expect(ingestPresenter()!.info).toMatchObject({ displayName: STUDIO, role: 'presenter', site: STUDIO_SITE });
    const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^telemed_ingests\{state="live"\} 1$/m);
    // Bounded labels: by protocol, never the ingest's or the room's id.
    expect(metrics).toMatch(/^telemed_ingest_bitrate_bps\{protocol="whip"\} [1-9]/m);
    expect(metrics).not.toContain(grant.ingest.id);
  }, 120_000);

  it('PATCH: a trickled candidate is accepted (204), a stale ETag refused (412), an ICE restart keeps the media flowing', async () => {
    expect(await whipTrickle(encoder)).toBe(204);
    expect(await whipTrickle(encoder, '"not-this-session"')).toBe(412);
    const before = (await encoderState(encoder)).bytesSent;
    const restart = await whipRestartIce(encoder);
    expect(restart.status).toBe(200);
    expect(restart.ufrag).toMatch(/^\S+$/);
    await until(
      'media after the ICE restart',
      async () => {
        const now = await encoderState(encoder);
        return now.state === 'connected' && now.bytesSent > before + 50_000 ? true : undefined;
      },
      20_000,
      500,
    );
    expect(env.server.ingests!.get(grant.ingest.id)!.state).toBe('live');
  }, 60_000);

  it('is recorded like any presenter', async () => {
    const started = ok(await lead.request('startRecording', {}));
    await new Promise((r) => setTimeout(r, 4000)); // a few seconds of programme
    ok(await lead.request('stopRecording', {}));
    const manifest = await until('the recording manifest', () => findManifest(env.server.config.dataDir, started.sessionId), 30_000, 500);
    const tracks = manifest.tracks.filter((t) => t.identity === `ingest:${grant.ingest.id}`);
    expect(tracks.map((t) => t.mediaType).sort()).toEqual(['audio', 'video']);
    const video = tracks.find((t) => t.mediaType === 'video')!;
    expect(video.status).toBe('complete');
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type,width',
      '-of',
      'json',
      path.join(manifest.dir, video.file),
    ]);
    expect((JSON.parse(stdout) as { streams: { width?: number }[] }).streams[0]?.width).toBeGreaterThan(0);
  }, 60_000);

  it('DELETE ends the programme: the presenter leaves the viewers and the ingest is ended', async () => {
    const presenterId = ingestPresenter()!.id;
    const left = lead.next('participantLeft', (p) => p.participantId === presenterId, 15_000);
    expect(await whipDelete(encoder)).toBe(200);
    expect((await left).reason).toBe('left');
    for (const page of viewers) {
      await page.waitForFunction(
        (name) =>
          !(window as unknown as { t: { client: { tracks: { participant: { displayName: string } }[] } } }).t.client.tracks.some(
            (t) => t.participant.displayName === name,
          ),
        STUDIO,
      );
    }
    expect(env.server.ingests!.get(grant.ingest.id)!.state).toBe('ended');
  });

  it('the same ingest takes a new programme: H.264 with simulcast, decoded by the viewers', async () => {
    const h264 = await encoder.evaluate(() =>
      (RTCRtpSender.getCapabilities('video')?.codecs ?? []).some((c) => c.mimeType === 'video/H264'),
    );
    const published = await whipPublish(encoder, grant.ingest.url, grant.token, {
      simulcast: true,
      ...(h264 ? { preferCodec: 'H264' as const } : {}),
    });
    expect(published.status, published.body).toBe(201);
    expect(published.body).toMatch(/^a=simulcast:recv q;h;f$/m);
    if (h264) expect(published.body).toMatch(/^a=rtpmap:\d+ H264\/90000$/m);
    for (const page of viewers) {
      await waitForStats(page, (s) => s.inbound.some((i) => i.name === STUDIO && i.kind === 'video' && i.framesDecoded > 10), 30_000);
    }
    const producer = ingestPresenter()!
      .media()
      .producers.find((p) => p.kind === 'video')!;
    expect(producer.type).toBe('simulcast');
    if (h264) expect(producer.rtpParameters.codecs[0]!.mimeType).toBe('video/H264');
    expect(await whipDelete(encoder)).toBe(200);
  }, 90_000);
});

interface FoundManifest {
  dir: string;
  tracks: { identity: string; mediaType: string; file: string; status: string }[];
}

/** The manifest of recording `sessionId` anywhere under `root`, once it is written. */
function findManifest(root: string, sessionId: string): FoundManifest | undefined {
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name !== 'manifest.json') continue;
    const dir = entry.parentPath;
    const manifest = JSON.parse(readFileSync(path.join(dir, entry.name), 'utf8')) as {
      sessionId?: string;
      tracks: FoundManifest['tracks'];
    };
    if (manifest.sessionId === sessionId) return { dir, tracks: manifest.tracks };
  }
  return undefined;
}
