/**
 * The demo page during the call, in Chromium with the autoplay policy real browsers have (sound only
 * after a user gesture): a patient who arrives at a health-education broadcast by link hears nothing
 * until a click — the SDK reports it, the page says "点击开启声音", and the click makes the sound play.
 * Speaker and gallery views (remembered; a shared screen large), the moderator's tile menu used by
 * keyboard only (Tab, Enter, arrows, Escape; removing someone after confirming), and what the live
 * region announces in Chinese.
 */
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { writeSpeechWav } from '../helpers/speechWav.js';

// Microphones that talk (not the fake beep): the speaker view follows who speaks.
const SPEECH = writeSpeechWav();
afterAll(() => rmSync(SPEECH, { force: true }));
const env = useTestEnvironment({
  browserArgs: ['--autoplay-policy=document-user-activation-required', `--use-file-for-fake-audio-capture=${SPEECH}`],
});

interface Person {
  name: string;
  role: string;
  site: string;
  siteLevel: string;
}
const LEAD: Person = { name: '赵磊', role: 'lead_specialist', site: '省肿瘤医院', siteLevel: 'tertiary_hospital' };
const CLINIC: Person = { name: '马丽', role: 'clinic_doctor', site: '和平乡卫生院', siteLevel: 'township_health_centre' };
const COUNTY: Person = { name: '王芳', role: 'specialist', site: '安平县医院', siteLevel: 'county_hospital' };

type DemoWindow = {
  demo: {
    joined: boolean;
    error: string | null;
    client: {
      self: { id: string };
      audioBlocked: boolean;
      activeSpeaker: { id: string } | null;
      participants: { id: string; displayName: string }[];
      on(e: string, f: () => void): void;
      publishTrack(track: MediaStreamTrack, source: string): Promise<void>;
    };
  };
  soundEvents: string[];
};

/** The demo page joined by deep link, in `lang` (a page of its own browser context unless `page` is given). */
async function openDemo(person: Person, query: Record<string, string>, lang = 'zh-CN'): Promise<Page> {
  const context = await env.browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${env.server.url}/?${new URLSearchParams({ lang, ...person, ...query })}`);
  await joined(page);
  return page;
}

/** Waits for the page to have joined; fails with the page's own error if it could not. */
async function joined(page: Page): Promise<void> {
  const done = page.waitForFunction(() => (window as unknown as DemoWindow).demo.joined, undefined, { timeout: 45_000 });
  await done.catch(async (error: unknown) => {
    const why = await page.evaluate(() => (window as unknown as DemoWindow).demo.error).catch(() => null);
    throw new Error(`the demo page did not join: ${JSON.stringify(why)} (${String(error)})`);
  });
}

/** Id of the participant named `name`, as `page`'s client knows them. */
const idOf = (page: Page, name: string) =>
  page.evaluate((name) => (window as unknown as DemoWindow).demo.client.participants.find((p) => p.displayName === name)!.id, name);

describe('sound that plays', () => {
  it('a viewer by link: blocked playback detected, "点击开启声音" shown, a click makes the audio play', async () => {
    const query = { room: 'sound-broadcast', kind: 'broadcast', caseId: '' };
    const presenter = await openDemo({ ...LEAD, role: 'presenter' }, query);
    const context = await env.browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
    const viewer = await context.newPage();
    // Chromium counts Playwright's navigation as a user activation (navigator.userActivation.hasBeenActive
    // is true at once), so even with the autoplay flag it plays MediaStream audio without a click. This
    // refuses play() of audible media the way the browser does before a gesture — until a trusted
    // pointer or key event (page.click is one; a script's click() is not).
    await viewer.addInitScript(() => {
      let gesture = false;
      for (const type of ['pointerdown', 'mousedown', 'keydown', 'pointerup', 'touchend'])
        window.addEventListener(type, (e) => (gesture ||= e.isTrusted), { capture: true });
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
        if (gesture || this.muted) return play.call(this);
        return Promise.reject(
          new DOMException("play() failed because the user didn't interact with the document first.", 'NotAllowedError'),
        );
      };
    });
    // Record the SDK's events from the start (the refusal comes as the first audio track arrives).
    await viewer.addInitScript(() => {
      const w = window as unknown as DemoWindow;
      w.soundEvents = [];
      const watch = setInterval(() => {
        if (!w.demo?.client) return;
        clearInterval(watch);
        for (const e of ['audioPlaybackBlocked', 'audioPlaybackStarted']) w.demo.client.on(e, () => w.soundEvents.push(e));
      }, 5);
    });
    await viewer.goto(
      `${env.server.url}/?${new URLSearchParams({ ...query, name: '周建国', role: 'viewer', site: '家中', siteLevel: 'village_clinic' })}`,
    );
    await joined(viewer);

    const banner = viewer.locator('#audio-banner');
    await banner.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await banner.locator('button').innerText()).toBe('点击开启声音');
    const state = () =>
      viewer.evaluate(() => {
        const w = window as unknown as DemoWindow;
        const audio = document.querySelector<HTMLAudioElement>('.tile audio');
        return { blocked: w.demo.client.audioBlocked, events: w.soundEvents, paused: audio?.paused, hasSound: !!audio?.srcObject };
      });
    expect(await state()).toEqual({ blocked: true, events: ['audioPlaybackBlocked'], paused: true, hasSound: true });

    await viewer.click('#start-audio'); // a real click: the user gesture the browser waits for
    await banner.waitFor({ state: 'hidden', timeout: 10_000 });
    expect(await state()).toEqual({
      blocked: false,
      events: ['audioPlaybackBlocked', 'audioPlaybackStarted'],
      paused: false,
      hasSound: true,
    });
    // The receiver plays it out now: Chromium measures the audio's energy at playout.
    await waitForStats(
      viewer,
      (s) => s.inbound.some((i) => i.name === LEAD.name && i.kind === 'audio' && i.totalAudioEnergy > 0),
      20_000,
      'demo',
    );
    for (const page of [presenter, viewer]) await page.context().close();
  }, 90_000);
});

/** The participant id of the large tile on `page` (null: none). */
const mainTile = (page: Page) =>
  page.evaluate(() => document.querySelector<HTMLElement>('#tiles > .tile.main')?.dataset['participantId'] ?? null);

/** Waits until `page`'s large tile is `participantId`'s and the SDK says they are the active speaker. */
const speakerShown = (page: Page, participantId: string) =>
  page.waitForFunction(
    (id) =>
      (window as unknown as DemoWindow).demo.client.activeSpeaker?.id === id &&
      document.querySelector<HTMLElement>('#tiles > .tile.main')?.dataset['participantId'] === id,
    participantId,
    { timeout: 30_000 },
  );

describe('speaker and gallery views', () => {
  it('speaker view follows the active speaker, is remembered; a shared screen is large in both views', async () => {
    const query = { room: 'views-mdt', kind: 'consultation', caseId: 'CASE-2026-0311' };
    const lead = await openDemo(LEAD, query);
    const clinic = await openDemo(CLINIC, query);
    const county = await openDemo(COUNTY, query);
    await lead.locator('#tiles > .tile').nth(2).waitFor();
    expect(await lead.locator('#tiles').getAttribute('data-view')).toBe('gallery');
    expect(await mainTile(lead)).toBeNull();

    await lead.click('#view-switch [data-view=speaker]');
    expect(await lead.locator('#view-switch [data-view=speaker]').getAttribute('aria-pressed')).toBe('true');
    // Only one of the others sends sound at a time: the large tile is whoever the SDK says speaks.
    const [clinicId, countyId] = [await idOf(lead, CLINIC.name), await idOf(lead, COUNTY.name)];
    await lead.click('#toggle-mic');
    await county.click('#toggle-mic');
    await speakerShown(lead, clinicId);
    await clinic.click('#toggle-mic');
    await county.click('#toggle-mic');
    await speakerShown(lead, countyId);
    // The large tile is large; the strip's are small.
    const widths = await lead.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('#tiles > .tile')].map((t) => ({
        main: t.classList.contains('main'),
        width: t.clientWidth,
      })),
    );
    const mainWidth = widths.find((w) => w.main)!.width;
    for (const w of widths.filter((w) => !w.main)) expect(w.width * 3).toBeLessThan(mainWidth);

    // Remembered: the lead comes back (same browser) in speaker view.
    await lead.reload({ timeout: 60_000 });
    await joined(lead);
    expect(await lead.locator('#tiles').getAttribute('data-view')).toBe('speaker');
    expect(await lead.locator('#view-switch [data-view=speaker]').getAttribute('aria-pressed')).toBe('true');

    // 王芳 shares a screen (a lab report, drawn on a canvas): it is the large tile, in either view.
    await county.evaluate(async () => {
      const canvas = Object.assign(document.createElement('canvas'), { width: 1280, height: 720 });
      const ctx = canvas.getContext('2d')!;
      setInterval(() => {
        ctx.fillStyle = `hsl(${(Date.now() / 20) % 360} 60% 60%)`;
        ctx.fillRect(0, 0, canvas.width, canvas.height);
      }, 100);
      await (window as unknown as DemoWindow).demo.client.publishTrack(canvas.captureStream(10).getVideoTracks()[0]!, 'screen');
    });
    const screen = lead.locator('#tiles > .tile.screen.main');
    await screen.waitFor({ timeout: 20_000 });
    await lead.click('#view-switch [data-view=gallery]');
    await screen.waitFor();
    expect(await lead.locator('#tiles').getAttribute('data-view')).toBe('gallery');
    const strip = await lead.locator('#tiles > .tile:not(.main)').evaluateAll((tiles) => tiles.map((t) => t.clientWidth));
    expect(strip).toHaveLength(3);
    const screenWidth = await screen.evaluate((t) => t.clientWidth);
    for (const width of strip) expect(width * 3).toBeLessThan(screenWidth);
    for (const page of [lead, clinic, county]) await page.context().close();
  }, 150_000);
});

/** A short description of what has the keyboard focus: its accessible name. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return (el?.getAttribute('aria-label') ?? el?.textContent ?? '').trim();
  });

describe('keyboard and screen reader', () => {
  it('in Chinese: Tab reaches every control, the tile menu works by keys, removal is confirmed, the live region tells', async () => {
    const query = { room: 'keyboard-mdt', kind: 'consultation', caseId: 'CASE-2026-0312' };
    const lead = await openDemo(LEAD, query);
    const clinic = await openDemo(CLINIC, query);
    const announcer = lead.locator('#announcer');
    await lead.waitForSelector(`#announcer:has-text("${CLINIC.name} 加入了会诊")`);
    await clinic.click('#toggle-mic');
    await lead.waitForSelector(`#announcer:has-text("${CLINIC.name} 已关闭麦克风")`);
    const clinicTile = lead.locator('.tile', { hasText: CLINIC.name });
    expect(await clinicTile.locator('.badge.mic').innerText()).toBe('已静音');

    // Structure: one h1, the room and the video area as h2; every button has a name.
    expect(await lead.locator('h1').count()).toBe(1);
    expect(await lead.locator('#room h2:visible, #tiles-title').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('远程会诊'), '参会人员画面']),
    );
    const unnamed = await lead
      .locator('button:visible')
      .evaluateAll((buttons) => buttons.filter((b) => !(b.getAttribute('aria-label') ?? b.textContent ?? '').trim()).length);
    expect(unnamed).toBe(0);

    // Tab goes round every visible control of the page; each shows where the focus is.
    const reached = new Set<string>();
    await lead.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let i = 0; i < 60; i++) {
      await lead.keyboard.press('Tab');
      const where = await lead.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        if (el === document.body) return { id: 'body', visible: true }; // between the page and the browser's own UI
        el.dataset['tabbed'] = '1';
        return { id: el.id || el.textContent, visible: el.matches(':focus-visible') && getComputedStyle(el).outlineStyle !== 'none' };
      });
      expect(where.visible, `focus shown on ${where.id}`).toBe(true);
      if (reached.has(where.id!) && where.id !== 'body') break;
      reached.add(where.id!);
    }
    const missed = await lead
      .locator('#room button:visible, #room input:visible, header button:visible')
      .evaluateAll((els) => els.filter((el) => el.getAttribute('tabindex') !== '-1' && !(el as HTMLElement).dataset['tabbed']).length);
    expect(missed).toBe(0);

    // To 马丽's menu button by Tab alone.
    const menuButton = `${CLINIC.name} 的更多操作`;
    for (let i = 0; i < 60 && (await focused(lead)) !== menuButton; i++) await lead.keyboard.press('Tab');
    expect(await focused(lead)).toBe(menuButton);
    const menu = clinicTile.locator('[role=menu]');
    await lead.keyboard.press('Enter');
    await menu.waitFor();
    expect(await focused(lead)).toBe('静音麦克风');
    await lead.keyboard.press('ArrowDown');
    expect(await focused(lead)).toBe('允许解除静音');
    await lead.keyboard.press('End');
    expect(await focused(lead)).toBe('移出…');
    await lead.keyboard.press('ArrowDown');
    expect(await focused(lead)).toBe('静音麦克风');
    await lead.keyboard.press('ArrowUp');
    expect(await focused(lead)).toBe('移出…');
    await lead.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    expect(await focused(lead)).toBe(menuButton);

    // Remove… asks first; Escape keeps 马丽 in the room.
    await lead.keyboard.press('Enter');
    await lead.keyboard.press('ArrowUp');
    await lead.keyboard.press('Enter');
    const dialog = lead.locator('dialog.confirm');
    await dialog.waitFor();
    expect(await dialog.locator('p').innerText()).toBe(`确定将 ${CLINIC.name} 移出会诊室吗？`);
    expect(await focused(lead)).toBe('取消');
    await lead.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await focused(lead)).toBe(menuButton);
    expect(await clinicTile.count()).toBe(1);

    // In English the menu's name follows (and the page says it is in English).
    await lead.click('[data-lang="en"]');
    expect(await lead.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await clinicTile.locator('button.more').getAttribute('aria-label')).toBe(`More actions for ${CLINIC.name}`);
    await lead.click('[data-lang="zh-CN"]');
    expect(await lead.evaluate(() => document.documentElement.lang)).toBe('zh-CN');

    // Confirmed: Tab from Cancel to the action, Enter.
    await clinicTile.locator('button.more').focus();
    await lead.keyboard.press('Enter');
    await lead.keyboard.press('End');
    await lead.keyboard.press('Enter');
    await dialog.waitFor();
    await lead.keyboard.press('Tab');
    expect(await focused(lead)).toBe('移出会诊室');
    await lead.keyboard.press('Enter');
    await clinic.waitForSelector('#status:has-text("您已被主持人移出会诊室")', { timeout: 20_000 });
    await clinicTile.waitFor({ state: 'detached', timeout: 20_000 });
    await lead.waitForSelector(`#announcer:has-text("${CLINIC.name} 已被移出会诊室")`);
    expect(await announcer.getAttribute('aria-live')).toBe('polite');
    for (const page of [lead, clinic]) await page.context().close();
  }, 120_000);
});
