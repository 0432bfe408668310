/** The programme page in a test browser: a phone without an HLS player of its own, and its video playing. */
import type { Browser, Page } from 'playwright-core';
import { until } from './until.js';

/**
 * What a browser without an HLS player of its own says (Firefox, Chromium before its built-in one;
 * the Chromium here has one and says 'maybe'): the page must then bring hls.js. A script's text, not
 * a function, so that no transform of the test's code reaches the page.
 */
const NO_NATIVE_HLS = `(() => {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? '' : canPlayType.call(this, type);
  };
})();`;

/** A phone-sized tab (390 × 844, touch, zh-CN) at `url`; `nativeHls: false`: as a browser without an HLS player. */
export async function openPhone(browser: Browser, url: string, { nativeHls = false } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  if (!nativeHls) await context.addInitScript({ content: NO_NATIVE_HLS });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[programme page]', e));
  await page.goto(url);
  return page;
}

/** The page's video element decodes frames and its time moves on: the player really plays. */
export async function videoAdvances(page: Page): Promise<{ frames: number; time: number }> {
  const sample = () =>
    page.evaluate(() => {
      const v = document.getElementById('player') as HTMLVideoElement;
      return { frames: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime };
    });
  const first = await until('the video plays', async () => ((await sample()).frames > 0 ? sample() : undefined), 60_000, 500);
  return until(
    'frames and time advance',
    async () => {
      const now = await sample();
      return now.frames > first.frames && now.time > first.time ? now : undefined;
    },
    30_000,
    500,
  );
}
