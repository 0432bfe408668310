/**
 * Programmes in a cluster: two nodes behind one public host (`/n1`, `/n2` on a loopback proxy, as the
 * README's nginx example). A programme saved through one node is on the other's page; while it is
 * live, the page's poll through the node that does not serve the room is answered by the one that
 * does (state, viewers, an HLS URL under that node's route, which plays through the host); an edit
 * through the other node reaches the live one; after the end the replay is served from the node that
 * kept it, and withdrawn through the other node it is deleted there.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import type { MediaServer } from '../../server/MediaServer.js';
import type { ProgrammeDetails, ProgrammeView } from '../../signaling/protocol/index.js';
import { startPathProxy, type PathProxy } from '../helpers/pathProxy.js';
import { startPresenter, type PresenterProcess } from '../helpers/presenterProcess.js';
import { openPhone, videoAdvances } from '../helpers/programmePage.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';

const ROOM = 'jkjy-tnb-2026-12-08';
const SITE = { id: 'xy-eyy', name: '中南大学湘雅二医院', level: 'tertiary_hospital' as const };
const DETAILS: ProgrammeDetails = {
  title: '糖尿病患者的饮食与运动',
  description: '内分泌科医生讲解血糖监测、饮食搭配和运动注意事项。',
  scheduledStart: '2026-12-08T19:30:00+08:00',
  presenterName: '周丽',
  hospital: SITE.name,
  visibility: 'public',
  replay: { allowed: true, retentionDays: 30 },
};
const broadcastToken = (role: 'lead_specialist' | 'presenter', sub: string, name: string) =>
  token({ room: ROOM, kind: 'broadcast', role, sub, name, site: SITE, caseId: undefined });
const LEAD = broadcastToken('lead_specialist', 'xy-zhou-li', '周丽');

let redis: RedisServer | undefined;
let proxy: PathProxy | undefined;
const nodes: MediaServer[] = [];
let presenter: PresenterProcess | undefined;
let browser: Browser | undefined;
const clients: TestClient[] = [];

/** Polls `check` until it holds. */
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs: number) =>
  until(what, async () => ((await check()) ? true : undefined), timeoutMs, 250);

/** The programme's view as a page reached through `/n<i+1>` asks for it. */
async function viewThrough(i: number): Promise<{ status: number; body: ProgrammeView & { error?: { code: string } } }> {
  const res = await fetch(`${proxy!.url}/n${i + 1}/api/programmes/${ROOM}`);
  return { status: res.status, body: (await res.json()) as never };
}

async function saveThrough(i: number, details: ProgrammeDetails): Promise<ProgrammeView> {
  const res = await fetch(`${proxy!.url}/n${i + 1}/api/programmes/${ROOM}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${LEAD}` },
    body: JSON.stringify(details),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ProgrammeView;
}

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startPathProxy();
  const namespace = `prog${Date.now()}`;
  for (const prefix of ['/n1', '/n2']) {
    const node = await startTestServer({
      REDIS_URL: redis.url,
      CLUSTER_NODE_ID: `node-${prefix.slice(2)}`,
      CLUSTER_NAMESPACE: namespace,
      CLUSTER_ROUTE: `${proxy.url}${prefix}`,
      ROOM_EMPTY_LINGER_SECONDS: '0',
    });
    nodes.push(node);
    proxy.route(prefix, node.port);
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const c of clients) c.close();
  await presenter?.stop();
  await Promise.allSettled(nodes.map((n) => n.close()));
  await proxy?.close();
  await redis?.stop();
});

describe('programmes across nodes', () => {
  it('a programme saved through one node is on the page through the other', async () => {
    expect((await viewThrough(1)).status).toBe(404);
    expect((await saveThrough(0, DETAILS)).state).toBe('scheduled');
    await waitFor('the programme reaches node-2', async () => (await viewThrough(1)).status === 200, 5000);
    const { body } = await viewThrough(1);
    expect(body.details.title).toBe(DETAILS.title);
    expect(body.state).toBe('scheduled');
  });

  it('live: the node that does not serve the room answers with what the serving node says, HLS under its route', async () => {
    // The room opens on node-2: its moderator connected there as if already redirected once.
    const [owner, other] = [1, 0];
    const ownerRoute = `${proxy!.url}/n2`;
    const lead = await connect(ownerRoute, LEAD, { hops: 1 });
    clients.push(lead);
    const { rtpCapabilities } = ok(await lead.request('getRouterRtpCapabilities', {}));
    ok(await lead.request('join', { rtpCapabilities }));
    presenter = await startPresenter(ownerRoute, broadcastToken('presenter', 'xy-wang-qiang', '王强'));
    expect(nodes[owner]!.rooms.get(ROOM)?.size).toBe(2);

    // Live once the presenter's camera is in; the HLS URL once FFmpeg runs.
    await waitFor('live with HLS through the other node', async () => !!(await viewThrough(other)).body.hlsUrl, 15_000);
    const { body } = await viewThrough(other);
    expect(body.hlsUrl?.startsWith(`${ownerRoute}/hls/`), body.hlsUrl ?? 'no HLS URL').toBe(true);
    // Asked of the serving node by the other one, through the public host (its route).
    expect(proxy!.forwarded).toContain(`GET /n${owner + 1}/api/programmes/${ROOM}`);
    // The playlist plays through the host: segments are written by the serving node's FFmpeg.
    await waitFor(
      'the HLS playlist has segments',
      async () => {
        const res = await fetch(body.hlsUrl!);
        return res.ok && /\.ts/.test(await res.text());
      },
      20_000,
    );

    // Patients' pages poll every 3 s: a burst of anonymous polls through the other node asks the
    // serving node about once a second, not once per poll.
    const asked = () => proxy!.forwarded.filter((line) => line === `GET /n2/api/programmes/${ROOM}`).length;
    const before = asked();
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await viewThrough(other)).body.state).toBe('live');
    expect(asked() - before).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);

    // Edited through the other node while live: the serving node shows the change.
    await saveThrough(other, { ...DETAILS, title: '糖尿病患者的饮食与运动（直播中）' });
    await waitFor(
      'the edit reaches the live node',
      async () => (await viewThrough(owner)).body.details?.title === '糖尿病患者的饮食与运动（直播中）',
      5000,
    );
  }, 60_000);

  it('a patient’s phone whose link reached the node not serving the room plays it there: hls.js, frames, time moving', async () => {
    browser = await launchChromium();
    const page = await openPhone(browser, `${proxy!.url}/n1/watch/${ROOM}`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === '直播中', undefined, { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('playback')?.dataset['kind'] === 'hlsjs', undefined, { timeout: 30_000 });
    await videoAdvances(page);
    // The page came from node-1; its view was answered by node-2 and its segments came from there.
    expect(proxy!.forwarded).toContain(`GET /n1/watch/${ROOM}`);
    expect(proxy!.forwarded.some((line) => line.startsWith('GET /n2/hls/') && line.includes('.ts'))).toBe(true);
    await page.context().close();
  }, 90_000);

  it('after the end the replay is served by the node that kept it; withdrawn through the other node, it is deleted there', async () => {
    const [owner, other] = [1, 0];
    ok(await clients[0]!.request('endRoom', {}));

    await waitFor(
      'ended, with a replay',
      async () => (await viewThrough(other)).body.replay !== null && (await viewThrough(other)).body.state === 'ended',
      20_000,
    );
    const { body } = await viewThrough(other);
    const replayUrl = body.replay!.url;
    expect(replayUrl.startsWith(`${proxy!.url}/n${owner + 1}/replays/`), replayUrl).toBe(true);
    const playlist = await fetch(replayUrl);
    expect(playlist.status).toBe(200);
    expect(await playlist.text()).toContain('#EXT-X-ENDLIST');

    await saveThrough(other, { ...DETAILS, replay: { allowed: false, retentionDays: 30 } });
    await waitFor('the withdrawn replay is deleted on the node that kept it', async () => (await fetch(replayUrl)).status === 404, 5000);
    expect((await viewThrough(owner)).body.replay).toBeNull();
  }, 40_000);

  it('Redis killed: pages are still answered from memory; a save is refused with a clear error until Redis is back', async () => {
    const port = redis!.port;
    await redis!.kill();
    const still = await viewThrough(0);
    expect(still.status).toBe(200);
    expect(still.body.details.hospital).toBe(SITE.name);
    const refused = await fetch(`${proxy!.url}/n1/api/programmes/${ROOM}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${LEAD}` },
      body: JSON.stringify({ ...DETAILS, title: '糖尿病足的预防' }),
    });
    expect(refused.status).toBe(503);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/Redis/);
    expect((await viewThrough(0)).body.details.title).not.toBe('糖尿病足的预防'); // nothing half-saved

    redis = await startRedis(port);
    await waitFor(
      'a save works again',
      async () =>
        (
          await fetch(`${proxy!.url}/n1/api/programmes/${ROOM}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${LEAD}` },
            body: JSON.stringify({ ...DETAILS, title: '糖尿病足的预防' }),
          })
        ).ok,
      10_000,
    );
    await waitFor('the change reaches node-2', async () => (await viewThrough(1)).body.details.title === '糖尿病足的预防', 5000);
  }, 30_000);
});
