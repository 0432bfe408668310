/**
 * The studio encoders panel of the programme page, in headless Chromium: the broadcast's moderator
 * makes a WHIP encoder URL and key there (shown once, Chinese first), a browser encoder publishing with
 * exactly what the page showed makes it live and the page shows its health; revoking it there asks
 * first, ends the programme and the key stops working; an RTMP encoder gets the server and the stream
 * key apart, as OBS asks for them. A viewer's page has no panel.
 */
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../helpers/fixture.js';
import { token } from '../helpers/tokens.js';
import { openEncoderPage, whipPublish } from '../helpers/whipEncoder.js';

const ROOM = 'xh-gkjk-2026-12-15';
const SITE = { id: 'xiehe-publicity', name: '协和医院宣传科', level: 'tertiary_hospital' as const };
const STUDIO = '骨科健康讲座演播室';
const env = useTestEnvironment({ browser: true, env: { INGEST_HEALTH_INTERVAL_MS: '1000' } });
const broadcastToken = (role: 'lead_specialist' | 'viewer', sub: string, name: string) =>
  token({ room: ROOM, kind: 'broadcast', role, sub, name, site: SITE, caseId: undefined });
const pages: Page[] = [];

afterAll(async () => {
  for (const page of pages) await page.context().close();
});

/** The programme page with `who`'s token, once its first look at the room's encoders is answered. */
async function programmePage(who: string): Promise<Page> {
  // A Chinese hospital's browser: the page follows its language.
  const page = await (await env.browser.newContext({ viewport: { width: 1024, height: 900 }, locale: 'zh-CN' })).newPage();
  pages.push(page);
  page.on('pageerror', (e) => console.error('[programme page error]', e));
  const listed = page.waitForResponse((r) => r.url().includes(`/ingest?room=${ROOM}`));
  await page.goto(`${env.server.url}/watch/${ROOM}#token=${who}`);
  await listed;
  return page;
}

const presenterIn = () =>
  env.server.rooms
    .get(ROOM)
    ?.participants()
    .find((p) => p.info.identity.startsWith('ingest:'));

describe('studio encoders on the programme page', () => {
  it('a viewer’s page has no encoder panel', async () => {
    const page = await programmePage(broadcastToken('viewer', 'patient-liu-yang', '刘洋'));
    expect(await page.locator('#encoders').isHidden()).toBe(true);
  });

  it('the moderator makes a WHIP URL and key; an encoder using them goes live, its health shown; revoked there, the key is refused', async () => {
    const page = await programmePage(broadcastToken('lead_specialist', 'xh-wang-jun', '王军'));
    await page.locator('#encoders').waitFor({ state: 'visible' });
    expect(await page.locator('#encoders h2').innerText()).toBe('演播室推流（OBS 等编码器）');
    await page.fill('#encoder-form input[name=name]', STUDIO);
    await page.selectOption('#encoder-form select[name=protocol]', 'whip');
    await page.click('#encoder-form button[type=submit]');
    await page.locator('#encoder-grant').waitFor({ state: 'visible' });
    expect(await page.locator('#encoder-grant .warning').innerText()).toContain('密钥只显示这一次');
    expect(await page.locator('#grant-token-label').innerText()).toBe('密钥（Bearer Token）');
    const url = await page.inputValue('#grant-url');
    const key = await page.inputValue('#grant-token');
    expect(url).toMatch(new RegExp(`^${env.server.url}/whip/[0-9a-f-]{36}$`));
    const waiting = page.locator('#encoder-list li[data-state=waiting]');
    await waiting.waitFor();
    expect(await waiting.locator('strong').innerText()).toBe(STUDIO);
    expect(await waiting.locator('.state').innerText()).toBe('等待推流');

    // OBS would take exactly these two fields; a browser encoder stands in for it.
    const encoder = await openEncoderPage(env.browser, env.server.url);
    pages.push(encoder);
    expect((await whipPublish(encoder, url, key)).status).toBe(201);
    const live = page.locator('#encoder-list li[data-state=live]');
    await live.waitFor({ timeout: 20_000 });
    expect(await live.locator('.state').innerText()).toBe('直播中');
    await expect
      .poll(() => live.locator('.health').innerText(), { timeout: 15_000 })
      .toMatch(/^码率 \d+\.\d Mbit\/s · \d+ 帧\/秒 · 丢包 \d+\.\d%$/);
    expect(presenterIn()?.info.displayName).toBe(STUDIO);

    // Revoking asks first; Cancel keeps it.
    await live.locator('button.danger').click();
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain(`确定撤销“${STUDIO}”吗`);
    await dialog.locator('button', { hasText: '取消' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(presenterIn()).toBeDefined();
    await live.locator('button.danger').click();
    await dialog.locator('button.danger').click();
    await page.locator('#encoder-list li').first().waitFor({ state: 'detached' });
    expect(await page.locator('#encoder-notice').innerText()).toBe(`已撤销“${STUDIO}”。`);
    expect(presenterIn()).toBeUndefined();
    expect((await whipPublish(encoder, url, key)).status).toBe(401);
  }, 90_000);

  it('RTMP: the server and the stream key apart, as OBS asks for them; in English on request', async () => {
    const page = await programmePage(broadcastToken('lead_specialist', 'xh-wang-jun', '王军'));
    await page.locator('#encoders').waitFor({ state: 'visible' });
    await page.fill('#encoder-form input[name=name]', 'RTMP 备用线路');
    await page.selectOption('#encoder-form select[name=protocol]', 'rtmp');
    await page.click('#encoder-form button[type=submit]');
    await page.locator('#encoder-grant').waitFor({ state: 'visible' });
    expect(await page.inputValue('#grant-url')).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(await page.locator('#grant-token-label').innerText()).toBe('串流密钥（Stream Key）');
    expect(await page.inputValue('#grant-token')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await page.locator('#encoder-list li[data-state=waiting]').waitFor();

    await page.click('#lang-switch button[data-lang=en]');
    expect(await page.locator('#encoders h2').innerText()).toBe('Studio encoders (OBS and others)');
    expect(await page.locator('#grant-token-label').innerText()).toBe('Stream Key');
    await expect.poll(() => page.locator('#encoder-list li .state').first().innerText()).toBe('Waiting for the encoder');
  });
});
