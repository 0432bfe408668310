/**
 * A health-education programme on a phone (headless Chromium, 390 × 844, touch): the page before the
 * broadcast, while it is live — over hls.js without a token (Chromium has no HLS player of its own),
 * over WebRTC with a viewer token, where a question reaches the moderator and its answer every
 * viewer — and after it: the replay, then, replay withdrawn, "it has ended". In zh-CN and in en, and
 * never wider than the phone.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import type { ProgrammeDetails, ProgrammeView } from '../../signaling/protocol/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { openPhone, videoAdvances } from '../helpers/programmePage.js';
import { connectAndJoin, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';

const ROOM = 'jkjy-tnb-2026-12-01';
const HOSPITAL = { id: 'zs-endo', name: '中山大学附属第一医院', level: 'tertiary_hospital' as const };
const env = useTestEnvironment({ browser: true });
const DETAILS: ProgrammeDetails = {
  title: '糖尿病患者的饮食与运动',
  description: '内分泌科专家讲解日常控糖要点，直播中可提问。',
  scheduledStart: '2026-12-01T19:30:00+08:00',
  presenterName: '陈静',
  hospital: HOSPITAL.name,
  visibility: 'public',
  replay: { allowed: true, retentionDays: 30 },
};
const leadToken = token({
  room: ROOM,
  kind: 'broadcast',
  role: 'lead_specialist',
  sub: 'staff-zhou-hui',
  name: '周慧',
  site: HOSPITAL,
  caseId: undefined,
});
const viewerToken = token({
  room: ROOM,
  kind: 'broadcast',
  role: 'viewer',
  sub: 'patient-liu-yang',
  name: '刘洋',
  site: { id: 'home', name: '居家', level: 'village_clinic' },
  caseId: undefined,
});
let lead: TestClient;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const joined = await connectAndJoin(env.server.url, leadToken);
  lead = env.track(joined.client);
  ok(joined.ack);
});
afterAll(async () => {
  for (const c of contexts) await c.close();
});

function saveProgramme(details: ProgrammeDetails): Promise<Response> {
  return fetch(`${env.server.url}/api/programmes/${ROOM}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${leadToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(details),
  });
}

/** The programme page in a phone-sized tab; `hash`: e.g. a viewer token (see openPhone for `nativeHls`). */
async function phone(query = '', hash = '', { nativeHls = false } = {}): Promise<Page> {
  const page = await openPhone(env.browser, `${env.server.url}/watch/${ROOM}${query}${hash}`, { nativeHls });
  contexts.push(page.context());
  return page;
}

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();
const noSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
const stateIs = (page: Page, state: string) =>
  page.waitForFunction((s) => document.getElementById('state')?.textContent === s, state, { timeout: 60_000 });

describe('a programme on a phone', () => {
  it('before the broadcast: what, who, when, in Chinese and English, no sideways scrolling', async () => {
    expect((await fetch(`${env.server.url}/api/programmes/${ROOM}`)).status).toBe(404);
    expect((await saveProgramme(DETAILS)).status).toBe(200);

    const zh = await phone();
    await stateIs(zh, '未开始');
    expect(await text(zh, 'title')).toBe(DETAILS.title);
    expect(await text(zh, 'presenter')).toBe(`主讲：陈静 · ${HOSPITAL.name}`);
    expect(await text(zh, 'schedule')).toContain('开始时间');
    expect(await text(zh, 'stage-message')).toContain('直播尚未开始');
    expect(await noSideways(zh)).toBe(true);

    const en = await phone('?lang=en');
    await stateIs(en, 'Not started');
    expect(await text(en, 'presenter')).toBe(`Presented by 陈静 · ${HOSPITAL.name}`);
    expect(await text(en, 'stage-message')).toContain('has not started');
    expect(await noSideways(en)).toBe(true);
    await zh.context().close();
    await en.context().close();
  }, 60_000);

  let hlsPage: Page;
  let tokenPage: Page;

  it('live without a token: HLS through hls.js, playing, counted as a viewer', async () => {
    hlsPage = await phone();
    const presenter = await openSdkPage(env.browser, env.server.url);
    contexts.push(presenter.context());
    const presenting = await sdkJoin(presenter, {
      identity: 'staff-chen-jing',
      name: '陈静',
      role: 'presenter',
      room: ROOM,
      kind: 'broadcast',
      caseId: null,
      site: HOSPITAL,
      camera: { width: 640, height: 360 },
    });
    expect(presenting).toBe('joined');
    await stateIs(hlsPage, '直播中');
    await hlsPage.waitForFunction(() => document.getElementById('playback')?.dataset['kind'] === 'hlsjs', undefined, { timeout: 60_000 });
    expect(await text(hlsPage, 'playback')).toContain('hls.js');
    await videoAdvances(hlsPage);
    // The page's own player reloads the playlist: it is counted.
    await hlsPage.waitForFunction(() => /[1-9]\d* 人观看/.test(document.getElementById('viewers')?.textContent ?? ''), undefined, {
      timeout: 30_000,
    });
    expect(await hlsPage.locator('#unmute').isVisible()).toBe(true);
    expect(await noSideways(hlsPage)).toBe(true);
  }, 150_000);

  it("live in a browser with its own HLS player: the browser's player, playing", async () => {
    const page = await phone('', '', { nativeHls: true });
    await page.waitForFunction(() => document.getElementById('playback')?.dataset['kind'] === 'native', undefined, { timeout: 60_000 });
    await videoAdvances(page);
    await page.context().close();
  }, 120_000);

  it('live with a viewer token: WebRTC, a question reaches the moderator, its answer reaches everyone', async () => {
    tokenPage = await phone('?lang=en', `#token=${viewerToken}`);
    await tokenPage.waitForFunction(() => document.getElementById('playback')?.dataset['kind'] === 'webrtc', undefined, {
      timeout: 60_000,
    });
    expect(await text(tokenPage, 'playback')).toContain('WebRTC');
    await waitForStats(
      tokenPage,
      (s) => s.inbound.some((i) => i.name === '陈静' && i.kind === 'video' && i.framesDecoded > 5),
      30_000,
      'programmePage',
    );
    expect(tokenPage.url()).not.toContain('token='); // out of the address bar once read

    const asked = lead.next('questionUpdated', (q) => q.question.text === '空腹血糖多少算正常？', 30_000);
    await tokenPage.locator('#ask-form textarea').fill('空腹血糖多少算正常？');
    await tokenPage.locator('#ask-form button').click();
    const { question } = await asked;
    expect(question).toMatchObject({ status: 'pending', askedBy: { displayName: '刘洋' } });
    ok(await lead.request('updateQuestion', { questionId: question.id, status: 'answered' }));
    for (const page of [tokenPage, hlsPage])
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#questions li')].some(
            (li) => li.textContent?.includes('空腹血糖') && (li as HTMLElement).dataset['status'] === 'answered',
          ),
        undefined,
        { timeout: 30_000 },
      );
    expect(await noSideways(tokenPage)).toBe(true);
  }, 120_000);

  it('after the broadcast: the replay (VOD) plays; withdrawn, the page says it has ended', async () => {
    ok(await lead.request('endRoom', {}));
    await stateIs(hlsPage, '已结束');
    const view = await until(
      'the replay is kept',
      async () => {
        const v = (await (await fetch(`${env.server.url}/api/programmes/${ROOM}`)).json()) as ProgrammeView;
        return v.replay ? v : undefined;
      },
      60_000,
      500,
    );
    const playlist = await (await fetch(`${env.server.url}${view.replay!.url}`)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(Date.parse(view.replay!.retainUntil) - Date.parse(view.endedAt!)).toBeGreaterThan(29 * 24 * 3600 * 1000);

    const replay = await phone();
    await stateIs(replay, '已结束');
    expect(await text(replay, 'replay-until')).toContain('可回看至');
    await replay.waitForFunction(() => document.getElementById('playback')?.dataset['kind'] === 'hlsjs', undefined, { timeout: 30_000 });
    await videoAdvances(replay);

    expect((await saveProgramme({ ...DETAILS, replay: { allowed: false, retentionDays: 30 } })).status).toBe(200);
    expect((await fetch(`${env.server.url}${view.replay!.url}`)).status).toBe(404);
    const ended = await phone('?lang=en');
    await stateIs(ended, 'Ended');
    await ended.waitForFunction(() => document.getElementById('stage-message')?.textContent?.includes('no replay'), undefined, {
      timeout: 30_000,
    });
    expect(await noSideways(ended)).toBe(true);
  }, 150_000);
});
