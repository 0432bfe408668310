/**
 * The demo page as a person uses it: the lead locks the room with its button, a clinic doctor who
 * follows a deep link waits in the lobby, the lead clicks Admit, they chat, the lead mutes the clinic
 * doctor from the tile and the clinic doctor sees why.
 */
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });

async function open(query: Record<string, string>): Promise<Page> {
  const page = await (await env.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${env.server.url}/?${new URLSearchParams({ room: 'demo-chaired', kind: 'consultation', caseId: 'CASE-77', ...query })}`);
  return page;
}

const joinedOn = (page: Page) =>
  page.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined, undefined, { timeout: 20_000 });

describe('demo page: chaired consultation', () => {
  it('lock, lobby, admit, chat and mute through the UI', async () => {
    const lead = await open({
      name: 'Prof. Zhao Lei',
      role: 'lead_specialist',
      site: 'Provincial Cancer Hospital',
      siteLevel: 'tertiary_hospital',
    });
    await lead.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined);
    await lead.click('#lock');
    await lead.waitForSelector('#lock-state:has-text("Locked")');

    const clinic = await open({
      name: 'Dr. Ma Li',
      role: 'clinic_doctor',
      site: 'Heping Township Health Centre',
      siteLevel: 'township_health_centre',
    });
    await clinic.waitForSelector('#lobby-wait:not([hidden])');
    await lead.waitForSelector('#lobby-list li:has-text("Dr. Ma Li")');
    expect(await lead.locator('#lobby-list li').innerText()).toContain('Heping Township Health Centre');
    await lead.click('#lobby-list li button:has-text("Admit")');
    await clinic.waitForFunction(() => (window as unknown as { demo: { joined: boolean } }).demo.joined, undefined, { timeout: 20_000 });
    await lead.waitForSelector('.tile .label:has-text("Dr. Ma Li")');

    await clinic.fill('#chat-form input', 'Patient is here, BP 130/85.');
    await clinic.click('#chat-form button');
    await lead.waitForSelector('#chat-log li:has-text("BP 130/85")');
    expect(await lead.locator('#chat-log li').last().innerText()).toContain('Dr. Ma Li (Heping Township Health Centre)');

    await lead.click('#record');
    await clinic.waitForSelector('#recording-banner:not([hidden]):has-text("started by Prof. Zhao Lei")', { timeout: 8000 });
    await clinic.click('#ack-recording');
    await clinic.waitForSelector('#ack-recording', { state: 'hidden', timeout: 8000 });

    await lead.locator('.tile', { hasText: 'Dr. Ma Li' }).locator('button:has-text("Mute")').first().click();
    await clinic.waitForSelector('#notices:has-text("muted your microphone")');
    await clinic.click('#toggle-mic'); // pause: allowed
    await clinic.click('#toggle-mic'); // unpause: refused while muted by the moderator
    await clinic.waitForSelector('#notices:has-text("muted by a moderator")');
    await clinic.screenshot({ path: process.env['DEMO_SCREENSHOT'] ?? path.join(os.tmpdir(), 'demo-chaired.png') });
    await lead.click('#record');
    await clinic.waitForSelector('#recording-banner', { state: 'hidden', timeout: 8000 });
  });
});

describe('demo page: health-education broadcast', () => {
  it('viewer count, a question asked, approved by the moderator and seen by the audience, a viewer on stage', async () => {
    const common = { room: 'demo-broadcast', kind: 'broadcast', caseId: '' };
    const moderator = await open({
      ...common,
      name: 'Prof. Lin',
      role: 'lead_specialist',
      site: 'Provincial Hospital',
      siteLevel: 'tertiary_hospital',
    });
    await joinedOn(moderator);
    const viewer = await open({ ...common, name: 'Mr. Zhou', role: 'viewer', site: 'Home', siteLevel: 'village_clinic' });
    const other = await open({ ...common, name: 'Ms. Qian', role: 'viewer', site: 'Home', siteLevel: 'village_clinic' });
    await joinedOn(viewer);
    await joinedOn(other);
    await other.waitForSelector('#viewer-count:has-text("2 watching")');
    expect(await viewer.locator('.tile').count()).toBe(1); // the moderator's camera; no tiles for other viewers

    await viewer.fill('#ask-form input', 'Is it safe to exercise after chemotherapy?');
    await viewer.click('#ask-form button');
    await moderator.waitForSelector('#questions li:has-text("exercise after chemotherapy")');
    await moderator.click('#questions li:has-text("exercise after chemotherapy") button:has-text("Approve")');
    await other.waitForSelector('#questions li:has-text("exercise after chemotherapy")');

    await moderator.click('#people li:has-text("Mr. Zhou") button:has-text("Bring on stage")');
    await viewer.waitForSelector('#notices:has-text("on stage")');
    await other.waitForSelector('.tile .label:has-text("Mr. Zhou")', { timeout: 20_000 });
  });
});
