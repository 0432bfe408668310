/**
 * The operators' dashboard in Chromium, on a live consultation between three sites: 赵磊 at the county
 * hospital goes through the hospital's TURN relay over TCP (a real coturn) behind a proxy that then
 * loses a quarter of the relayed packets on their way to him — a lossy county link. The page (no
 * token to load it, a strict CSP) asks for the operator's token and refuses an access token; with an
 * admin token it shows the room with its three sites and marks 赵磊 — and only him — poor in words,
 * in Chinese and in English; then an operator removes 马丽 and closes the room, each after a confirmation.
 * The room's case record then waits for the hospital's webhook, which is down: the dashboard shows it
 * waiting with the error, and its retry button delivers it once the receiver is back.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/caseRecordReceivers.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { MA_LI, THREE_SITES, ZHAO_LEI } from '../helpers/people.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { adminToken, token } from '../helpers/tokens.js';

let coturn: Coturn;
let path: TcpProxy;
let webhook: WebhookReceiver;
// Registered first, so coturn and the proxy are up before the server that hands out their address.
beforeAll(async () => {
  webhook = await webhookReceiver(); // not started: the hospital's record system is down
  coturn = await startCoturn();
  path = await startTcpProxy(Number(new URL(coturn.url.replace('turn:', 'http://')).port), { turn: true });
});
afterAll(async () => {
  await path?.close();
  await coturn?.stop();
  await webhook?.stop();
});
const env = useTestEnvironment({
  browser: true,
  env: () => ({
    TURN_URLS: `turn:127.0.0.1:${path.port}?transport=tcp`,
    TURN_SECRET: coturn.secret,
    CASE_RECORD_SINKS: 'filesystem,webhook',
    WEBHOOK_URL: webhook.url,
    WEBHOOK_SECRET: webhook.secret,
    // The outbox's own next attempt is minutes away: a delivery within the test is the operator's retry.
    OUTBOX_RETRY_BASE_MS: '600000',
    OUTBOX_RETRY_MAX_MS: '600000',
  }),
});
const ROOM = 'mdt-dashboard-1130';
const camera = { width: 320, height: 240, frameRate: 15 };

/** A dashboard page in its own browser context (a tab of its own: its own sessionStorage). */
async function openDashboard(query = ''): Promise<Page> {
  const context = await env.browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[dashboard error]', e));
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const response = await page.goto(`${env.server.url}/admin${query}`);
  expect(response!.status()).toBe(200);
  expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
  return page;
}

/** Signs in on the dashboard's token form. */
async function signIn(page: Page, bearer: string): Promise<void> {
  await page.locator('#token-form input[name="token"]').fill(bearer);
  await page.locator('#token-form button[type="submit"]').click();
}

/** Clicks `button` and answers the confirmation dialog. */
async function confirmed(page: Page, button: ReturnType<Page['locator']>, answer: 'ok' | 'cancel'): Promise<void> {
  await button.click();
  await page.locator('#confirm[open]').waitFor();
  await page.locator(`#confirm button[value="${answer}"]`).click();
}

describe('admin dashboard', () => {
  it('shows the consultation by site, marks the lossy line poor (zh-CN, en), removes and closes after confirmation', async () => {
    const pages: Page[] = [];
    for (const person of THREE_SITES) {
      const page = await openSdkPage(env.browser, env.server.url);
      const relay = person === ZHAO_LEI ? { iceTransportPolicy: 'relay' as const } : {};
      expect(await sdkJoin(page, { ...person, room: ROOM, caseId: 'CASE-DASH-9', camera, ...relay })).toBe('joined');
      pages.push(page);
    }
    await waitForStats(
      pages[1]!,
      (s) => s.pairs.some((p) => p.localType === 'relay') && s.inbound.some((i) => i.name === '王芳' && i.framesDecoded > 0),
    );

    const admin = await openDashboard();

    // No token yet: the page asks for one, in Chinese; an access token is refused.
    await admin.locator('#token-form').waitFor();
    expect(await admin.locator('#token-form legend').textContent()).toBe('请输入运维令牌');
    await signIn(admin, token({ sub: 'wang-fang', name: '王芳', role: 'lead_specialist', room: ROOM }));
    await expect.poll(() => admin.locator('#error').textContent(), { timeout: 10_000 }).toContain('运维令牌无效');
    expect(await admin.locator('#token-form').isVisible()).toBe(true);

    await signIn(admin, adminToken('ops-zhou-min'));
    const card = admin.locator(`article.room[data-room="${ROOM}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator('h3').textContent()).toBe(`远程会诊 · ${ROOM} · 病历号 CASE-DASH-9`);
    // The room's people, grouped by their three sites.
    expect(await card.locator('.site-group').evaluateAll((groups) => groups.map((g) => (g as HTMLElement).dataset['site']).sort())).toEqual(
      ['apx', 'hpx', 'slzl'],
    );
    const siteHeadings = (await card.locator('.site-group h4').allTextContents()).join(' ');
    for (const site of ['省肿瘤医院', '安平县医院', '和平乡卫生院']) expect(siteHeadings).toContain(site);
    expect(await admin.locator('#sites tr[data-site]').count()).toBe(3);

    // The county line turns lossy: 赵磊 is marked poor, in words, in the room and at the top — he alone.
    path.setLoss(0.25);
    const zhao = card.locator('tr[data-participant]', { hasText: '赵磊' });
    await expect.poll(() => zhao.getAttribute('data-quality'), { timeout: 60_000, interval: 1000 }).toBe('poor');
    expect(await zhao.locator('.quality').textContent()).toBe('较差');
    // The grade may fall on the stream score first; the loss his receiver reports follows within a report or two.
    await expect
      .poll(async () => parseFloat((await zhao.locator('td').nth(3).textContent())!), { timeout: 30_000, interval: 1000 })
      .toBeGreaterThan(8);
    const poorLines = await admin.locator('#poor-lines').textContent();
    expect(poorLines).toContain('赵磊（安平县医院');
    expect(await admin.locator('#poor-lines .poor-person').count()).toBe(1);
    expect(await admin.locator('#sites tr[data-site="apx"]').textContent()).toContain('线路较差：赵磊');
    // The workers' load is there too: the one worker carries the room's consumers.
    expect(Number(await admin.locator('#workers tr[data-worker="0"] td').nth(8).textContent())).toBeGreaterThan(0);

    // English: the token is kept in this tab (no new prompt), the same view in English.
    await admin.goto(`${env.server.url}/admin?lang=en`);
    await card.waitFor({ timeout: 15_000 });
    expect(await admin.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await admin.locator('#token-form').isVisible()).toBe(false);
    expect(await admin.locator('main h2').allTextContents()).toContain('Live rooms');
    expect(await card.locator('h3').textContent()).toBe(`Consultation · ${ROOM} · case CASE-DASH-9`);
    await expect.poll(() => zhao.locator('.quality').textContent(), { timeout: 30_000, interval: 1000 }).toBe('Poor');
    expect(await admin.locator('#poor-lines').textContent()).toContain('赵磊 (安平县医院');
    path.setLoss(0);

    // Removing 马丽: cancelled first (nothing happens), then confirmed — she is told why.
    const ma = card.locator('tr[data-participant]', { hasText: MA_LI.name });
    await confirmed(admin, ma.locator('button'), 'cancel');
    expect(await admin.locator('#confirm-text').textContent()).toContain(`Remove 马丽 (和平乡卫生院) from room ${ROOM}?`);
    expect(
      env.server.rooms
        .get(ROOM)!
        .participants()
        .map((p) => p.info.displayName),
    ).toContain('马丽');
    await confirmed(admin, ma.locator('button'), 'ok');
    await expect.poll(() => events(pages[2]!, 'disconnected'), { timeout: 10_000 }).toHaveLength(1);
    expect(((await events(pages[2]!, 'disconnected'))[0]![0] as { reason: string }).reason).toBe('removed');
    await expect.poll(() => card.locator('.site-group').count(), { timeout: 10_000 }).toBe(2);

    // Closing the room: everyone is told; the dashboard shows no room.
    await confirmed(admin, card.locator('header button'), 'ok');
    for (const page of pages.slice(0, 2)) await expect.poll(() => events(page, 'disconnected'), { timeout: 10_000 }).toHaveLength(1);
    await expect.poll(() => admin.locator('#rooms').textContent(), { timeout: 10_000 }).toBe('No room is open on this server');

    expect(await admin.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    await admin.context().close();
    for (const page of pages) await page.context().close();
  }, 180_000);

  it('shows the closed room’s case record waiting for the webhook with its error; retry delivers it', async () => {
    const admin = await openDashboard('?lang=zh-CN');
    await signIn(admin, adminToken('ops-zhou-min'));
    const waiting = admin.locator('#records table.pending tr[data-entry]');
    await expect.poll(() => waiting.count(), { timeout: 15_000 }).toBe(1);
    const entryId = (await waiting.getAttribute('data-entry'))!;
    const row = (await waiting.locator('td').allTextContents()).join(' | ');
    expect(row).toContain('webhook');
    expect(row).toMatch(/ECONNREFUSED|fetch failed|connect/i);
    expect(await admin.locator('#summary').textContent()).toContain('待投递病历 1 条');
    expect(await admin.locator('#records table.recent').textContent()).toContain('webhook：待投递');

    await webhook.start();
    await confirmed(admin, waiting.locator('button'), 'ok');
    await expect.poll(() => webhook.deliveries.get(entryId), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => waiting.count(), { timeout: 15_000 }).toBe(0);
    expect(await admin.locator('#summary').textContent()).toContain('待投递病历 0 条');
    await expect.poll(() => admin.locator('#records table.recent').textContent(), { timeout: 10_000 }).toContain('webhook：已送达');
    expect(await admin.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    await admin.context().close();
  }, 60_000);
});
