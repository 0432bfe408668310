/**
 * The demo page as a person uses it (Chinese names and sites, as its users have): the lead locks the
 * room with its button, a clinic doctor who follows a deep link waits in the lobby, the lead clicks
 * Admit, a third clinician joins and all three see and hear each other, they chat, the lead mutes
 * the clinic doctor from the tile's menu and the clinic doctor sees why.
 */
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitForStats, type PathStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });

async function open(query: Record<string, string>): Promise<Page> {
  const page = await (await env.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('dialog', (d) => void d.accept());
  // English UI: the selectors below are its words (the Chinese UI has tests of its own, in i18n.e2e).
  const q = new URLSearchParams({ lang: 'en', room: 'demo-chaired', kind: 'consultation', caseId: 'CASE-77', ...query });
  await page.goto(`${env.server.url}/?${q}`);
  return page;
}

const joinedOn = (page: Page) =>
  page.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined, undefined, { timeout: 20_000 });

describe('demo page: chaired consultation', () => {
  it('lock, lobby, admit, chat and mute through the UI', async () => {
    const lead = await open({
      name: '赵磊',
      role: 'lead_specialist',
      site: '省肿瘤医院',
      siteLevel: 'tertiary_hospital',
    });
    await lead.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined);
    await lead.click('#lock');
    await lead.waitForSelector('#lock-state:has-text("Locked")');

    const clinic = await open({
      name: '马丽',
      role: 'clinic_doctor',
      site: '和平乡卫生院',
      siteLevel: 'township_health_centre',
    });
    await clinic.waitForSelector('#lobby-wait:not([hidden])');
    await lead.waitForSelector('#lobby-list li:has-text("马丽")');
    expect(await lead.locator('#lobby-list li').innerText()).toContain('和平乡卫生院');
    await lead.click('#lobby-list li button:has-text("Admit")');
    await clinic.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined, undefined, { timeout: 20_000 });
    await lead.waitForSelector('.tile .label:has-text("马丽")');
    // A third clinician: three Chinese names at three Chinese sites stay three people, each seeing
    // and hearing the other two (ids derived from the names must not collapse into one).
    const county = await open({ name: '王芳', role: 'specialist', site: '安平县医院', siteLevel: 'county_hospital' });
    await joinedOn(county);
    const people = [
      { page: lead, name: '赵磊' },
      { page: clinic, name: '马丽' },
      { page: county, name: '王芳' },
    ];
    for (const { page, name } of people) {
      const others = people.filter((p) => p.name !== name).map((p) => p.name);
      const decodes = (stats: PathStats) =>
        others.every(
          (other) =>
            stats.inbound.some((i) => i.name === other && i.kind === 'video' && i.framesDecoded > 0) &&
            stats.inbound.some((i) => i.name === other && i.kind === 'audio' && i.totalAudioEnergy > 0),
        );
      await waitForStats(page, decodes, 20_000, 'demo');
    }
    await county.context().close();

    await clinic.fill('#chat-form input', '患者已到，血压 130/85。');
    await clinic.click('#chat-form button');
    await lead.waitForSelector('#chat-log li:has-text("血压 130/85")');
    expect(await lead.locator('#chat-log li').last().innerText()).toContain('马丽 (和平乡卫生院)');

    await lead.click('#record');
    await clinic.waitForSelector('#recording-banner:not([hidden]):has-text("started by 赵磊")', { timeout: 8000 });
    await clinic.click('#ack-recording');
    await clinic.waitForSelector('#ack-recording', { state: 'hidden', timeout: 8000 });

    // The moderator's tools are in the tile's "⋯ More" menu.
    const clinicTile = lead.locator('.tile', { hasText: '马丽' });
    await clinicTile.locator('button.more').click();
    await clinicTile.locator('[role=menuitem]:has-text("Mute microphone")').click();
    await clinic.waitForSelector('#notices:has-text("muted your microphone")');
    // The muted doctor's own tile and button say so; unmuting is refused while muted by the moderator.
    await clinic.waitForSelector('.tile.self .badge.mic:has-text("Muted by a moderator")');
    expect(await clinic.locator('#toggle-mic').innerText()).toBe('Unmute mic');
    await clinic.click('#toggle-mic');
    await clinic.waitForSelector('#notices:has-text("muted by a moderator")');
    await clinic.screenshot({ path: process.env['DEMO_SCREENSHOT'] ?? path.join(os.tmpdir(), 'demo-chaired.png') });
    await lead.click('#record');
    await clinic.waitForSelector('#recording-banner', { state: 'hidden', timeout: 8000 });
  }, 60_000);
});

describe('demo page: health-education broadcast', () => {
  it('viewer count, a question asked, approved by the moderator and seen by the audience, a viewer on stage', async () => {
    const common = { room: 'demo-broadcast', kind: 'broadcast', caseId: '' };
    const moderator = await open({
      ...common,
      name: '林教授',
      role: 'lead_specialist',
      site: '省人民医院',
      siteLevel: 'tertiary_hospital',
    });
    await joinedOn(moderator);
    const viewer = await open({ ...common, name: '周建国', role: 'viewer', site: '家中', siteLevel: 'village_clinic' });
    const other = await open({ ...common, name: '钱秀英', role: 'viewer', site: '家中', siteLevel: 'village_clinic' });
    await joinedOn(viewer);
    await joinedOn(other);
    await other.waitForSelector('#viewer-count:has-text("2 watching")');
    expect(await viewer.locator('.tile').count()).toBe(1); // the moderator's camera; no tiles for other viewers
    // Viewers ask questions; they are not shown a chat box they may not use. The moderator is.
    expect(await viewer.locator('#chat').isHidden()).toBe(true);
    expect(await moderator.locator('#chat').isVisible()).toBe(true);

    await viewer.fill('#ask-form input', '化疗后可以运动吗？');
    await viewer.click('#ask-form button');
    await moderator.waitForSelector('#questions li:has-text("化疗后可以运动吗")');
    await moderator.click('#questions li:has-text("化疗后可以运动吗") button:has-text("Approve")');
    await other.waitForSelector('#questions li:has-text("化疗后可以运动吗")');

    await moderator.click('#people li:has-text("周建国") button:has-text("Bring on stage")');
    await viewer.waitForSelector('#notices:has-text("on stage")');
    await other.waitForSelector('.tile .label:has-text("周建国")', { timeout: 20_000 });
  });
});

describe('demo page on a phone', () => {
  it('at 390 px wide, in Chinese, a consultation and a broadcast fit the screen: no sideways scrolling', async () => {
    const phone = async (query: Record<string, string>) => {
      const page = await (await env.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' })).newPage();
      await page.goto(`${env.server.url}/?${new URLSearchParams({ kind: 'consultation', caseId: 'CASE-78', ...query })}`);
      return page;
    };
    const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const form = await phone({});
    expect(await overflow(form)).toBe(0);
    const doctor = await phone({
      room: 'demo-phone',
      name: '赵磊',
      role: 'clinic_doctor',
      site: '和平乡卫生院',
      siteLevel: 'township_health_centre',
    });
    await joinedOn(doctor);
    await doctor.waitForSelector('.tile');
    expect(await overflow(doctor)).toBe(0);
    await doctor.screenshot({ path: path.join(os.tmpdir(), 'demo-phone-390.png'), fullPage: true });
    const patient = await phone({
      room: 'demo-phone-broadcast',
      kind: 'broadcast',
      caseId: '',
      name: '周建国',
      role: 'viewer',
      site: '家中',
      siteLevel: 'village_clinic',
    });
    await joinedOn(patient);
    expect(await overflow(patient)).toBe(0);
    for (const page of [form, doctor, patient]) await page.context().close();
  }, 60_000);
});
