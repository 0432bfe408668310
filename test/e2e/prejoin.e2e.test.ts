/**
 * Before the call, on the demo page as a clinician uses it (English UI so the selectors read; the
 * Chinese words are checked by the dictionaries' tests): the pre-join screen's preview, level meter
 * and device lists, the pre-call check shown, then joining with the chosen devices; a camera that
 * goes away mid-call (its track ends) replaced without unpublishing and the person told; the lobby's
 * preview and a cancel that leaves it (the chair's lobby list empties); a browser that refuses the
 * camera: the message, the status, and a retry that works once allowed.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../bench/lib/browser.js';
import { contextWithSourceSdk } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connectAndJoin, ok } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';

const env = useTestEnvironment({ browser: true });
let refusing: Browser | undefined;
afterAll(async () => {
  await refusing?.close();
});

type Demo = { joined: boolean; client: { self: { id: string } } | null };

async function formPage(browser: Browser, room: string, name: string, site: string, caseId = 'CASE-2026-0001'): Promise<Page> {
  const page = await (await contextWithSourceSdk(browser)).newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${env.server.url}/?lang=en`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=site]', site);
  await page.fill('input[name=room]', room);
  await page.fill('input[name=caseId]', caseId);
  await page.click('#join-form button[type=submit]');
  await page.waitForSelector('#prejoin:not([hidden])');
  return page;
}

const previewPlaying = (page: Page, selector: string) =>
  page.waitForFunction((s) => (document.querySelector(s) as HTMLVideoElement | null)?.videoWidth ?? 0 > 0, selector, { timeout: 15_000 });

describe('demo page: before the call', () => {
  it('pre-join preview, level meter and check, join with the chosen devices; a lost camera is replaced and told', async () => {
    const page = await formPage(env.browser, 'prejoin-mdt-1', '孙强', '平阴县人民医院');
    await previewPlaying(page, '#prejoin-video');
    expect(await page.locator('#status').innerText()).toBe('Checking before joining');
    expect(await page.locator('#prejoin-camera option').count()).toBeGreaterThan(0);
    expect(await page.locator('#prejoin-microphone option').count()).toBeGreaterThan(0);
    await page.waitForFunction(() => Number((document.getElementById('prejoin-level') as HTMLMeterElement).value) > 0, undefined, {
      timeout: 10_000,
    });

    await page.click('#prejoin-check');
    await page.waitForSelector('#prejoin-results li[data-check=turn]', { timeout: 45_000 });
    for (const check of ['camera', 'microphone', 'signaling', 'udp', 'tcp'])
      expect(await page.locator(`#prejoin-results li[data-check=${check}]`).getAttribute('data-status'), check).toBe('ok');
    const udp = await page.locator('#prejoin-results li[data-check=udp]').innerText();
    expect(udp).toMatch(/^Audio\/video over UDP: OK \(round trip [\d.]+ ms, \d+ kbit\/s\)$/);
    // No TURN on this server: said in words, not as a failure.
    expect(await page.locator('#prejoin-results li[data-check=turn]').innerText()).toBe(
      'Through the relay server (TURN): not checked this server has no relay server configured',
    );

    const chosen = await page.locator('#prejoin-camera').inputValue();
    await page.click('#prejoin-join');
    await page.waitForFunction(() => (window as unknown as { demo: Demo }).demo.joined, undefined, { timeout: 30_000 });
    expect(await page.locator('#status').innerText()).toBe('Connected as 孙强');
    const room = env.server.rooms.get('prejoin-mdt-1')!;
    const me = room.participants().find((p) => p.info.displayName === '孙强')!;
    const cameraBefore = me.producerInfos().find((i) => i.source === 'camera')!.id;

    // The camera goes away: Chromium ends its track (track.stop() alone fires no 'ended').
    const used = await page.evaluate(() => {
      const video = document.querySelector('#tiles video') as HTMLVideoElement;
      const track = (video.srcObject as MediaStream).getVideoTracks()[0]!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
      return track.getSettings().deviceId;
    });
    expect(used).toBe(chosen);
    await page.waitForSelector('#notices:has-text("Your camera was disconnected; now using:")', { timeout: 15_000 });
    await page.waitForFunction(() => {
      const video = document.querySelector('#tiles video') as HTMLVideoElement | null;
      return (video?.srcObject as MediaStream | null)?.getVideoTracks()[0]?.readyState === 'live';
    });
    // The same producer: the others saw no leave and no new track.
    expect(me.producerInfos().find((i) => i.source === 'camera')!.id).toBe(cameraBefore);
    await page.context().close();
  }, 120_000);

  it('the lobby shows the preview, and cancel leaves it cleanly', async () => {
    const roomId = 'prejoin-locked-2';
    const chair = await connectAndJoin(
      env.server.url,
      token({ sub: 'wang-fang-chair', name: '王芳', role: 'lead_specialist', room: roomId, caseId: 'CASE-1' }),
    );
    env.track(chair.client);
    ok(chair.ack);
    ok(await chair.client.request('setRoomLocked', { locked: true }));
    const page = await formPage(env.browser, roomId, '马丽', '和平乡卫生院', 'CASE-1');
    await previewPlaying(page, '#prejoin-video');
    const arrived = chair.client.next('lobbyChanged', (p) => p.waiting.length === 1, 20_000);
    arrived.catch(() => undefined); // awaited below; a failure before that must not go unhandled
    await page.click('#prejoin-join');
    await page.waitForSelector('#lobby-wait:not([hidden])');
    expect((await arrived).waiting[0]!.displayName).toBe('马丽');
    await previewPlaying(page, '#lobby-video');
    const left = chair.client.next('lobbyChanged', (p) => p.waiting.length === 0, 20_000);
    left.catch(() => undefined);
    await page.click('#lobby-cancel');
    await left;
    await page.waitForSelector('#join-form:not([hidden])');
    expect(await page.locator('#status').innerText()).toBe('You left the lobby');
    expect(await page.locator('#lobby-preview').isHidden()).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { demo: Demo }).demo.joined)).toBe(false);
    expect(env.server.rooms.get(roomId)!.size).toBe(1);
    await page.context().close();
  }, 90_000);

  it('a refused camera/microphone: a clear message, the status says so, retry works once allowed', async () => {
    // Without --use-fake-ui-for-media-stream, headless Chromium refuses capture unless the context grants it.
    refusing = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_FLAGS.filter((f) => f !== '--use-fake-ui-for-media-stream'),
    });
    const page = await formPage(refusing, 'prejoin-denied-3', '周静', '东阿县中医院');
    await page.waitForSelector('#prejoin-permission:not([hidden])');
    expect(await page.locator('#prejoin-permission-text').innerText()).toContain('The browser did not allow the camera and microphone');
    expect(await page.locator('#status').innerText()).toBe('Camera/microphone permission denied');
    await page.context().grantPermissions(['camera', 'microphone']);
    await page.click('#prejoin-retry');
    await previewPlaying(page, '#prejoin-video');
    expect(await page.locator('#prejoin-permission').isHidden()).toBe(true);
    expect(await page.locator('#status').innerText()).toBe('Checking before joining');
    await page.context().close();
  }, 60_000);
});
