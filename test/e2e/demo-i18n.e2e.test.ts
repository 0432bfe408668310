/**
 * The demo page in Chinese and in English, chosen from the browser's language: a lead specialist and
 * a clinic doctor with Chinese names at Chinese sites go through lock, lobby, admit and recording; every
 * visible word is in the page's language (a text node in the other language fails the test, listed),
 * role and site-level labels are the translated ones (never a raw id such as clinic_doctor). The
 * 中文 / English switch re-renders the page, dynamic text included, and is remembered after a reload;
 * an error is told by its code in the page's language with the server's message as detail.
 */
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });

const LEAD = { name: '赵磊', role: 'lead_specialist', site: '省肿瘤医院', siteLevel: 'tertiary_hospital' };
const CLINIC = { name: '马丽', role: 'clinic_doctor', site: '和平乡卫生院', siteLevel: 'township_health_centre' };

/** The words each language must show (written out here, not read from the dictionaries under test). */
const WORDS = {
  'zh-CN': {
    locale: 'zh-CN',
    join: '加入',
    lock: '锁定会诊室',
    unlock: '解除锁定',
    locked: '已锁定',
    lobbyWait: '等待主诊专家准入',
    admit: '准入',
    lead: '主诊专家',
    clinic: '申请医生',
    tertiary: '三级医院',
    township: '乡镇卫生院 / 社区卫生服务中心',
    you: `${LEAD.name}（我）`,
    mute: '静音麦克风',
    recordedBy: `由 ${LEAD.name} 于`,
    connectedAs: `已连接：${LEAD.name}`,
    /** Text in the other language: Latin words for the Chinese page. */
    foreign: /[A-Za-z]{2,}/,
  },
  en: {
    locale: 'en-US',
    join: 'Join',
    lock: 'Lock room',
    unlock: 'Unlock room',
    locked: 'Locked',
    lobbyWait: 'Waiting for the lead specialist to admit you',
    admit: 'Admit',
    lead: 'Lead specialist',
    clinic: 'Clinic doctor',
    tertiary: 'Tertiary hospital',
    township: 'Township / community health centre',
    you: `${LEAD.name} (you)`,
    mute: 'Mute microphone',
    recordedBy: `started by ${LEAD.name}`,
    connectedAs: `Connected as ${LEAD.name}`,
    foreign: /\p{Script=Han}/u,
  },
} as const;
type Lang = keyof typeof WORDS;

async function open(browser: Browser, locale: string, query: Record<string, string> = {}): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${env.server.url}/?${new URLSearchParams(query)}`);
  return page;
}

const joined = (page: Page) =>
  page.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined, undefined, { timeout: 20_000 });

/**
 * Visible text (text nodes, placeholders, aria-labels, titles, the document title) that is in the other
 * language, once the allowed strings (people's and sites' names, room ids, sample ids) are taken out.
 * Text an element marks as another language (lang="…": the switch's "English", a server's English
 * detail) is what it says it is and is not counted.
 */
function foreignText(page: Page, lang: Lang, allowed: string[]): Promise<string[]> {
  const { source, flags } = WORDS[lang].foreign;
  return page.evaluate(
    ({ source, flags, allowed }) => {
      const foreign = new RegExp(source, flags);
      const pageLang = document.documentElement.lang;
      // Sample ids such as ENC-889 are not words of either language.
      const offending = (text: string) =>
        foreign.test(allowed.reduce((rest, a) => rest.split(a).join(' '), text).replace(/\b[A-Z]+(?:-\d+)+\b/g, ' '));
      const shown = (el: Element) => (el.closest('option') ? el.closest('select')! : el).checkVisibility();
      const sameLang = (el: Element) => (el.closest('[lang]') as HTMLElement | null)?.lang === pageLang;
      const found: string[] = [];
      if (offending(document.title)) found.push(`title: ${document.title}`);
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        const text = node.textContent?.trim() ?? '';
        if (text && el && shown(el) && sameLang(el) && offending(text)) found.push(`<${el.tagName.toLowerCase()}> ${text}`);
      }
      for (const el of document.body.querySelectorAll('[placeholder], [aria-label], [title]')) {
        if (!shown(el) || !sameLang(el)) continue;
        for (const attr of ['placeholder', 'aria-label', 'title']) {
          const text = el.getAttribute(attr);
          if (text && offending(text)) found.push(`<${el.tagName.toLowerCase()} ${attr}> ${text}`);
        }
      }
      return found;
    },
    { source, flags, allowed },
  );
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describe.each(['zh-CN', 'en'] as const)('demo page in %s (from the browser language)', (lang) => {
  const w = WORDS[lang];
  const room = `i18n-${lang.toLowerCase()}`;
  const caseId = 'CASE-2026-0042';
  const allowed = [LEAD.name, LEAD.site, CLINIC.name, CLINIC.site, room, caseId];

  it('lock, lobby, admit, tiles and recording in the language; no visible text in the other one', async () => {
    const form = await open(env.browser, w.locale);
    expect(await form.evaluate(() => document.documentElement.lang)).toBe(lang);
    expect(await text(form, '#join-form button[type=submit]')).toBe(w.join);
    expect(await text(form, 'select[name=siteLevel] option[value=township_health_centre]')).toBe(w.township);
    expect(await foreignText(form, lang, allowed)).toEqual([]);
    await form.context().close();

    const query = { room, kind: 'consultation', caseId };
    const lead = await open(env.browser, w.locale, { ...query, ...LEAD });
    await joined(lead);
    expect(await text(lead, '#status')).toBe(w.connectedAs);
    expect(await text(lead, '#lock')).toBe(w.lock);
    await lead.click('#lock');
    await lead.waitForSelector(`#lock-state:has-text("${w.locked}")`);
    expect(await text(lead, '#lock')).toBe(w.unlock);

    const clinic = await open(env.browser, w.locale, { ...query, ...CLINIC });
    await clinic.waitForSelector('#lobby-wait:not([hidden])');
    expect(await text(clinic, '#lobby-wait')).toContain(w.lobbyWait);
    const entry = lead.locator('#lobby-list li', { hasText: CLINIC.name });
    await entry.waitFor();
    expect(await entry.innerText()).toContain(`${CLINIC.name} · ${w.clinic} · ${CLINIC.site}`);
    expect(await entry.innerText()).not.toContain('clinic_doctor');
    expect(await foreignText(lead, lang, allowed)).toEqual([]);
    await entry.locator(`button:has-text("${w.admit}")`).click();
    await joined(clinic);

    // Tiles: the translated role and site-level labels, "(you)" on one's own.
    const clinicTile = lead.locator('.tile', { hasText: CLINIC.name });
    await clinicTile.waitFor();
    expect(await clinicTile.locator('.label').innerText()).toContain(`${CLINIC.name} · ${w.clinic}`);
    expect(await clinicTile.locator('.label').innerText()).toContain(`${CLINIC.site} — ${w.township}`);
    await clinicTile.locator('button.more').click();
    expect(await clinicTile.locator('[role=menuitem]').first().innerText()).toBe(w.mute);
    await lead.keyboard.press('Escape');
    const leadTile = clinic.locator('.tile', { hasText: LEAD.name });
    await leadTile.waitFor();
    expect(await leadTile.locator('.label').innerText()).toContain(`${w.lead}`);
    expect(await leadTile.locator('.label').innerText()).toContain(`${LEAD.site} — ${w.tertiary}`);
    expect(await lead.locator('.tile .label', { hasText: w.you }).innerText()).toContain(w.lead);
    for (const page of [lead, clinic])
      expect(await page.locator('.tile .label').allInnerTexts()).not.toContainEqual(expect.stringMatching(/_|role\.|siteLevel\./));

    await lead.click('#record');
    await clinic.waitForSelector(`#recording-banner:not([hidden]):has-text("${w.recordedBy}")`, { timeout: 8000 });
    await clinic.fill('#chat-form input', '患者已到，血压 130/85。');
    await clinic.click('#chat-form button');
    await lead.waitForSelector('#chat-log li:has-text("血压 130/85")');
    const chat = '患者已到，血压 130/85。';
    for (const page of [lead, clinic]) expect(await foreignText(page, lang, [...allowed, chat])).toEqual([]);
    await lead.screenshot({ path: path.join(os.tmpdir(), `demo-${lang}.png`) }); // for a person to look at
    await lead.click('#record');
    await clinic.waitForSelector('#recording-banner', { state: 'hidden', timeout: 8000 });
    await lead.context().close();
    await clinic.context().close();
  }, 60_000);
});

describe('language switch', () => {
  it('中文 / English re-renders the page, the room included, and the choice is remembered; ?lang= wins', async () => {
    const page = await open(env.browser, 'zh-CN', { room: 'i18n-switch', kind: 'consultation', caseId: 'CASE-9', ...LEAD });
    await joined(page);
    expect(await text(page, '#lock')).toBe(WORDS['zh-CN'].lock);
    expect(await page.locator('[data-lang="zh-CN"]').getAttribute('aria-pressed')).toBe('true');

    await page.click('[data-lang="en"]');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await page.locator('[data-lang="en"]').getAttribute('aria-pressed')).toBe('true');
    expect(await text(page, '#lock')).toBe(WORDS.en.lock);
    expect(await text(page, '#status')).toBe(WORDS.en.connectedAs);
    expect(await page.locator('.tile .label').innerText()).toContain(`${WORDS.en.you} · ${WORDS.en.lead}`);
    expect(await page.locator('.tile .label').innerText()).toContain(WORDS.en.tertiary);
    expect(await page.title()).toBe('Remote consultation — demo');
    expect(await foreignText(page, 'en', [LEAD.name, LEAD.site, 'i18n-switch', 'CASE-9'])).toEqual([]);

    // Remembered: the same browser opens the page in English although it prefers Chinese.
    await page.goto(`${env.server.url}/`);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await text(page, '#join-form button[type=submit]')).toBe(WORDS.en.join);
    expect(await page.inputValue('input[name=name]')).toBe('Dr. Li Wei'); // the sample name follows the language
    // ?lang= wins for that page, without changing the remembered choice.
    await page.goto(`${env.server.url}/?lang=zh-CN`);
    expect(await text(page, '#join-form button[type=submit]')).toBe(WORDS['zh-CN'].join);
    await page.goto(`${env.server.url}/`);
    expect(await text(page, '#join-form button[type=submit]')).toBe(WORDS.en.join);
    // And back to Chinese by the switch.
    await page.click('[data-lang="zh-CN"]');
    expect(await text(page, '#join-form button[type=submit]')).toBe(WORDS['zh-CN'].join);
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await page.context().close();
  }, 60_000);
});

describe('errors by their code', () => {
  it('a patient in a follow-up without a prior visit: PRIOR_VISIT_REQUIRED in Chinese, the server message as detail', async () => {
    const patient = {
      name: '钱秀英',
      role: 'patient',
      site: '家中',
      siteLevel: 'village_clinic',
      room: 'i18n-followup',
      kind: 'follow_up',
    };
    const page = await open(env.browser, 'zh-CN', patient);
    await page.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    expect(await text(page, '#error > span')).toBe('复诊需要先前线下就诊的证明（不允许线上首诊）。');
    expect(await text(page, '#error .detail')).toMatch(/in-person visit/);
    await page.click('[data-lang="en"]');
    expect(await text(page, '#error > span')).toBe('A follow-up needs proof of an earlier in-person visit (no online first visits).');
    await page.context().close();
  });
});
