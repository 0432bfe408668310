/**
 * A studio's encoders in a cluster whose nodes are separate server processes on a real redis-server.
 * A WHIP ingest is made through node A (the encoder's URL names A) while the broadcast is served by
 * node B: the encoder's offer reaches A, is passed on to B, and the programme runs on B — a viewer who
 * came in through A decodes its video and hears its audio. An RTMP ingest asked of A is made on B (its
 * listener must be where the programme runs), its programme decoded by the viewer and ended when
 * revoked through A. B is killed (SIGKILL): the WHIP encoder's next offers to the same URL get a retry
 * hint until B's lease has lapsed, then A takes the room and the programme runs there; the viewer,
 * moved by the SDK, decodes the new presenter. Revoked through B (back on its data folder), the
 * programme on A ends and the token is refused. With Redis gone, a new ingest is refused with 503 and
 * a retry hint, not made half.
 */
import jwt from 'jsonwebtoken';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { publishRtmp, tcpListening, type RtmpPublisher } from '../../bench/lib/rtmpPublisher.js';
import { contextWithSourceSdk, sdkJoin, waitForStats, type PathStats } from '../../bench/lib/sdkPage.js';
import type { IngestGrant, IngestInfo } from '../../signaling/protocol/index.js';
import { startLocalCluster, type LocalCluster, type NodeProcess } from '../helpers/clusterProcesses.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { TEST_AUDIENCE, token } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { openEncoderPage, whipApplyAnswer, whipPublish, type WhipPublish } from '../helpers/whipEncoder.js';

const ROOM = 'xh-gkjk-2026-12-12';
const STUDIO = '骨科健康讲座演播室';
const RTMP_STUDIO = '糖尿病饮食讲座';
const STUDIO_SITE = { id: 'xiehe-publicity', name: '协和医院宣传科', level: 'tertiary_hospital' as const };

let cluster: LocalCluster | undefined;
let browser: Browser | undefined;
let nodeA: NodeProcess;
let nodeB: NodeProcess;
let lead: TestClient | undefined;
let encoder: Page;
let viewer: Page;
let grant: IngestGrant;
/** The programme's presenter while it ran on B. */
let presenterOnB: string;
const publishers: RtmpPublisher[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster(['node-a', 'node-b'], {
    JWT_AUDIENCE: TEST_AUDIENCE,
    ROOM_EMPTY_LINGER_SECONDS: '0',
    INGEST_HEALTH_INTERVAL_MS: '1000',
  });
  [nodeA, nodeB] = cluster.nodes as [NodeProcess, NodeProcess];
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
  lead?.close();
  await browser?.close();
  await cluster?.stop(); // both nodes (the killed one's leftovers too) and redis-server
});

/** The hospital system's operator token, signed with the cluster's secret. */
const admin = () =>
  jwt.sign({ sub: 'ops-zhou-min', scope: 'admin' }, cluster!.secret, { algorithm: 'HS256', audience: TEST_AUDIENCE, expiresIn: 600 });

async function describeThrough(node: NodeProcess, id: string): Promise<{ status: number; ingest?: IngestInfo }> {
  const res = await fetch(`${node.url}/ingest/${id}`, { headers: { authorization: `Bearer ${admin()}` } });
  return { status: res.status, ...((await res.json().catch(() => ({}))) as { ingest?: IngestInfo }) };
}

/**
 * The encoder's offer to its URL, again and again (as OBS reconnects) until one is answered 201 (its
 * answer kept unapplied: see whipApplyAnswer); the statuses seen.
 */
async function publishUntilAnswered(timeoutMs: number): Promise<{ answer: WhipPublish; seen: number[] }> {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await whipPublish(encoder, grant.publishUrl, grant.token, { holdAnswer: true }).catch((e: unknown) => ({
      status: 0,
      body: String(e),
      location: null,
      contentType: null,
    }));
    seen.push(answer.status);
    if (answer.status === 201 || Date.now() > deadline) return { answer, seen };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Records, with times, what the SDK tells the viewer's page (for a failure to say what happened). */
function watchViewer(): Promise<void> {
  return viewer.evaluate(() => {
    type Client = { on(e: string, f: (...a: unknown[]) => void): void };
    const t = (window as unknown as { t: { client: Client; log: unknown[][] } }).t;
    t.log = [];
    const at = () => new Date().toISOString().slice(11, 23);
    t.client.on('connectionStateChanged', (state) => t.log.push([at(), 'state', state]));
    t.client.on('trackAdded', (track) => t.log.push([at(), 'trackAdded', (track as { kind: string }).kind]));
    t.client.on('trackRemoved', (track) => t.log.push([at(), 'trackRemoved', (track as { kind: string }).kind]));
    t.client.on('disconnected', (info) => t.log.push([at(), 'disconnected', (info as { message: string }).message]));
    t.client.on('error', (error) => t.log.push([at(), 'error', (error as Error).message]));
  });
}

/** The viewer holds the video of `name` (participant `id`) and decodes it, and hears its audio. */
async function viewerReceives(participantId: string, name = STUDIO, timeoutMs = 30_000): Promise<void> {
  try {
    await receiving(participantId, name, timeoutMs);
  } catch (error) {
    const why = await viewer.evaluate(() => {
      type Track = { kind: string; participant: { id: string; displayName: string } };
      const t = (window as unknown as { t: { client: { connectionState: string; tracks: Track[] }; log: unknown[][] } }).t;
      return {
        state: t.client.connectionState,
        tracks: t.client.tracks.map((k) => `${k.participant.displayName}/${k.participant.id}:${k.kind}`),
        log: t.log,
      };
    });
    throw new Error(`${(error as Error).message} (at ${new Date().toISOString().slice(11, 23)}); the viewer: ${JSON.stringify(why)}`, {
      cause: error,
    });
  }
}

async function receiving(participantId: string, name: string, timeoutMs: number): Promise<void> {
  await viewer.waitForFunction(
    ({ name, id }) =>
      (
        window as unknown as { t: { client: { tracks: { kind: string; participant: { id: string; displayName: string } }[] } } }
      ).t.client.tracks.some((t) => t.kind === 'video' && t.participant.displayName === name && t.participant.id === id),
    { name, id: participantId },
    { timeout: timeoutMs },
  );
  await waitForStats(
    viewer,
    (s: PathStats) =>
      s.inbound.some((i) => i.name === name && i.kind === 'video' && i.framesDecoded > 10) &&
      s.inbound.some((i) => i.name === name && i.kind === 'audio' && i.totalAudioEnergy > 0),
    30_000,
  );
}

/** The ingest (the WHIP one unless named), as the node `node` tells it once it is live. */
async function liveThrough(node: NodeProcess, id = grant.ingest.id): Promise<IngestInfo> {
  return until(
    `the programme live on ${node.id}`,
    async () => {
      const { ingest } = await describeThrough(node, id);
      return ingest?.state === 'live' && ingest.participantId ? ingest : undefined;
    },
    20_000,
    250,
  );
}

/** The hospital system revokes ingest `id` through `node`; the status. */
async function revokeThrough(node: NodeProcess, id: string): Promise<number> {
  return (await fetch(`${node.url}/ingest/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin()}` } })).status;
}

/** The viewer no longer holds any track of `name` (its presenter left). */
async function viewerLoses(name: string): Promise<void> {
  await viewer.waitForFunction(
    (name) =>
      !(window as unknown as { t: { client: { tracks: { participant: { displayName: string } }[] } } }).t.client.tracks.some(
        (t) => t.participant.displayName === name,
      ),
    name,
    { timeout: 15_000 },
  );
}

const closeEncoderSession = () =>
  encoder.evaluate(() => {
    const whip = (window as unknown as { whip?: { pc: RTCPeerConnection; stream: MediaStream } }).whip;
    whip?.pc.close();
    for (const t of whip?.stream.getTracks() ?? []) t.stop();
  });

describe('a WHIP encoder in a cluster', () => {
  it('made through one node, its offer to that node runs the programme on the room’s node; a viewer decodes it', async () => {
    // The broadcast is on B: its lead connected there as if already redirected once (hops 1).
    lead = await connect(
      nodeB.url,
      token(
        { room: ROOM, kind: 'broadcast', role: 'lead_specialist', sub: 'xh-wang-jun', name: '王军', site: STUDIO_SITE, caseId: undefined },
        {},
        cluster!.secret,
      ),
      { hops: 1 },
    );
    const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
    ok(await lead.request('join', { rtpCapabilities }));

    const created = await fetch(`${nodeA.url}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin()}` },
      body: JSON.stringify({ room: ROOM, kind: 'broadcast', protocol: 'whip', name: STUDIO, site: STUDIO_SITE }),
    });
    expect(created.status).toBe(201);
    grant = (await created.json()) as IngestGrant;
    expect(grant.publishUrl).toBe(`${nodeA.url}/whip/${grant.ingest.id}`);
    // Known to the other node at once.
    expect(await describeThrough(nodeB, grant.ingest.id)).toMatchObject({ status: 200, ingest: { state: 'waiting', name: STUDIO } });

    encoder = await openEncoderPage(browser!, nodeA.url);
    const wrong = await whipPublish(encoder, grant.publishUrl, `${grant.token}x`);
    expect(wrong.status).toBe(401);
    const published = await whipPublish(encoder, grant.publishUrl, grant.token);
    expect(published.status, published.body).toBe(201);
    // The session lives on B: its URL names B, where the encoder's PATCH and DELETE go.
    expect(published.location).toMatch(new RegExp(`^${nodeB.url}/whip/${grant.ingest.id}/sessions/[0-9a-f]{32}$`));
    const onB = await liveThrough(nodeB);
    presenterOnB = onB.participantId!;
    // What B says is what A says, health (measured on B) included: A asks B, the room's node.
    const throughA = await until(
      'the programme with its health, listed through A',
      async () => {
        const res = await fetch(`${nodeA.url}/ingest?room=${ROOM}`, { headers: { authorization: `Bearer ${admin()}` } });
        const listed = ((await res.json()) as { ingests: IngestInfo[] }).ingests.find((i) => i.id === grant.ingest.id);
        return listed?.health && listed.health.bitrateBps > 0 ? listed : undefined;
      },
      15_000,
      250,
    );
    expect(throughA).toMatchObject({ state: 'live', participantId: onB.participantId });

    const context = await contextWithSourceSdk(browser!);
    viewer = await context.newPage();
    viewer.on('pageerror', (e) => console.error('[viewer page error]', e));
    await viewer.goto(`${nodeA.url}/sdk-test.html`);
    const joined = await sdkJoin(viewer, {
      identity: 'zhao-huanzhe',
      name: '赵患者',
      role: 'viewer',
      room: ROOM,
      kind: 'broadcast',
      caseId: null,
      site: { id: 'home', name: '家中', level: 'village_clinic' },
      url: nodeA.url,
    });
    expect(joined).toBe('joined');
    await watchViewer();
    await viewerReceives(onB.participantId!);
  }, 120_000);

  it('RTMP: asked of the node not serving the room, made on the room’s node; its programme decoded; revoked through the other, it ends', async () => {
    const res = await fetch(`${nodeA.url}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin()}` },
      body: JSON.stringify({ room: ROOM, kind: 'broadcast', protocol: 'rtmp', name: RTMP_STUDIO, site: STUDIO_SITE }),
    });
    expect(res.status).toBe(201);
    const rtmp = (await res.json()) as IngestGrant;
    expect(rtmp.publishUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\//);
    // FFmpeg's listener takes a moment to start; an encoder connecting earlier would try again.
    const port = Number(new URL(rtmp.ingest.url.replace(/^rtmp:/, 'http:')).port);
    await until('the RTMP listener', async () => ((await tcpListening(port)) ? true : undefined), 15_000, 200);
    publishers.push(publishRtmp(rtmp.publishUrl, { size: '320x240' }));
    // Its listener is on B, the room's node: the programme goes live there and the viewer decodes it.
    const live = await liveThrough(nodeB, rtmp.ingest.id);
    await viewerReceives(live.participantId!, RTMP_STUDIO);
    expect(await revokeThrough(nodeA, rtmp.ingest.id)).toBe(204);
    await viewerLoses(RTMP_STUDIO);
    expect((await describeThrough(nodeB, rtmp.ingest.id)).status).toBe(404);
  }, 90_000);

  it('its node killed: offers to the encoder’s URL get a retry hint, the dead programme is shown ended, then it runs on the survivor', async () => {
    const killedAt = Date.now();
    await nodeB.kill();
    await closeEncoderSession();
    // At once: B's lease still names it, so the offer cannot run anywhere yet — "retry", not "not valid".
    const first = await whipPublish(encoder, grant.publishUrl, grant.token, { holdAnswer: true });
    expect(first.status, first.body).toBe(503);
    // Once no node serves the room, what B wrote before it died ("live", its presenter) is not shown as running.
    await until(
      'the dead programme shown ended through A',
      async () => {
        const { ingest } = await describeThrough(nodeA, grant.ingest.id);
        return ingest?.state === 'ended' && ingest.participantId === null ? ingest : undefined;
      },
      20_000,
      250,
    );
    const { answer, seen } = await publishUntilAnswered(40_000);
    expect(answer.status, `statuses seen: ${seen.join(', ')}; last: ${answer.body}`).toBe(201);
    expect(seen.filter((s) => s !== 201 && s !== 503)).toEqual([]);
    expect(answer.location).toMatch(new RegExp(`^${nodeA.url}/whip/${grant.ingest.id}/sessions/`));
    // Before any media (the encoder has not applied the answer): the new presenter on A, not what B
    // wrote before it died ("live", with B's presenter).
    const now = (await describeThrough(nodeA, grant.ingest.id)).ingest;
    expect(now).toMatchObject({ state: 'waiting' });
    expect(now?.participantId).toBeTruthy();
    expect(now?.participantId).not.toBe(presenterOnB);
    await whipApplyAnswer(encoder);
    const onA = await liveThrough(nodeA);
    const liveAt = Date.now();
    // The SDK tries a rejoin for up to 60 s (MOVE_BUDGET_MS); it takes 5–15 s here.
    await viewerReceives(onA.participantId!, STUDIO, 45_000);
    console.log(
      `[ingest-failover] after kill -9 of B: 201 and live on A at ${liveAt - killedAt} ms, decoded by the viewer at ${Date.now() - killedAt} ms`,
    );
    const log = await viewer.evaluate(() => (window as unknown as { t: { log: unknown[][] } }).t.log);
    console.log(
      `[ingest-failover] B killed at ${new Date(killedAt).toISOString().slice(11, 23)}; the viewer's SDK: ${JSON.stringify(log)}`,
    );
  }, 120_000);

  it('revoked through the node that came back, the programme ends where it runs and the token is refused', async () => {
    nodeB = await cluster!.restart(nodeB);
    expect(await revokeThrough(nodeB, grant.ingest.id)).toBe(204);
    await viewerLoses(STUDIO);
    expect((await describeThrough(nodeA, grant.ingest.id)).status).toBe(404);
    await closeEncoderSession();
    expect((await whipPublish(encoder, grant.publishUrl, grant.token)).status).toBe(401);
  }, 60_000);

  it('with Redis gone, a new ingest is refused with 503 and a retry hint', async () => {
    await cluster!.redis.kill();
    const res = await fetch(`${nodeA.url}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin()}` },
      body: JSON.stringify({ room: ROOM, kind: 'broadcast', protocol: 'whip', name: STUDIO, site: STUDIO_SITE }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
  }, 30_000);
});
