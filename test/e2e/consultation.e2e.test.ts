/**
 * Three clinicians at three sites join one consultation through the demo page in headless Chromium.
 * Each must decode the others' video and hear their audio (WebRTC getStats, not just UI state), see
 * tiles labelled with name, role and site with each line's grade, and see a leaver's tile go; one
 * who comes back sees the others' grades at once.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pathStats, waitForStats, type PathStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });

const ROOM = 'e2e-hepatology-mdt';
const PEOPLE = [
  {
    name: 'Prof. Zhang Min',
    role: 'lead_specialist',
    roleLabel: 'Lead specialist',
    site: 'Provincial People’s Hospital',
    siteLevel: 'tertiary_hospital',
  },
  {
    name: 'Dr. Wang Fang',
    role: 'clinic_doctor',
    roleLabel: 'Clinic doctor',
    site: 'Anping County Hospital',
    siteLevel: 'county_hospital',
  },
  { name: 'Dr. Li Qiang', role: 'clinic_doctor', roleLabel: 'Clinic doctor', site: 'Xishan Village Clinic', siteLevel: 'village_clinic' },
] as const;

const pages: Page[] = [];

async function open(person: (typeof PEOPLE)[number]): Promise<Page> {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${person.name}] page error`, e));
  const q = new URLSearchParams({
    lang: 'en', // the role labels below are the English ones
    room: ROOM,
    name: person.name,
    role: person.role,
    site: person.site,
    siteLevel: person.siteLevel,
    kind: 'consultation',
    caseId: 'CASE-HEP-0042',
  });
  await page.goto(`${env.server.url}/?${q}`);
  await page.waitForFunction(
    () =>
      (window as unknown as { demo: { joined: boolean; error: string | null } }).demo.joined ||
      (window as unknown as { demo: { error: string | null } }).demo.error,
    undefined,
    { timeout: 20_000 },
  );
  expect(await page.evaluate(() => (window as unknown as { demo: { error: string | null } }).demo.error)).toBeNull();
  return page;
}

/** Polls until every other participant's video decodes and audio carries energy. */
function waitForMedia(page: Page, others: string[]): Promise<PathStats> {
  return waitForStats(
    page,
    (st) =>
      others.every(
        (name) =>
          st.inbound.some((s) => s.name === name && s.kind === 'video' && s.framesDecoded > 0) &&
          st.inbound.some((s) => s.name === name && s.kind === 'audio' && s.totalAudioEnergy > 0),
      ),
    20_000,
    'demo',
  );
}

describe('three-site consultation in real browsers', () => {
  it('everyone sees and hears the other two, in labelled tiles', async () => {
    for (const person of PEOPLE) pages.push(await open(person));

    for (const [i, page] of pages.entries()) {
      const me = PEOPLE[i]!;
      const others = PEOPLE.filter((p) => p !== me);
      const first = await waitForMedia(
        page,
        others.map((o) => o.name),
      );
      expect(first.pairs.length).toBeGreaterThan(0);
      expect(first.pairs.every((p) => p.remoteAddress === '127.0.0.1')).toBe(true);

      // Frames keep being decoded (a simulcast layer switch may pause a stream briefly, so allow 8 s).
      for (const other of others) {
        const videoOf = (st: PathStats) => st.inbound.find((s) => s.name === other.name && s.kind === 'video')!.framesDecoded;
        const before = videoOf(first);
        let after = before;
        for (let t = 0; t < 16 && after < before + 10; t++) {
          await new Promise((r) => setTimeout(r, 500));
          after = videoOf(await pathStats(page, 'demo'));
        }
        expect(after, `${me.name} decoding ${other.name}`).toBeGreaterThanOrEqual(before + 10);
      }

      // The SDK's join timeline has every phase, in the order a join goes through them.
      const t = await page.evaluate(
        () => (window as unknown as { demo: { client: { timings: Record<string, number> } } }).demo.client.timings,
      );
      const chain = ['socketOpen', 'routerCapabilities', 'deviceLoaded', 'joined', 'recvTransport', 'transportConnected'];
      for (const [a, b] of chain.slice(1).map((phase, k) => [chain[k]!, phase] as const))
        expect(t[a], `${a} ≤ ${b}`).toBeLessThanOrEqual(t[b]!);
      expect(t['joined']).toBeLessThanOrEqual(t['firstTrack']!);
      // The first video packet (a received track unmuted) comes after the receive transport exists.
      expect(t['firstVideoRtp'], 'first video packet noted').toBeGreaterThanOrEqual(t['recvTransport']!);
      expect(t['socketOpen']).toBeGreaterThan(0);

      // Every tile says how that person's line is doing, in words (graded by the server every 5 s).
      await expect
        .poll(async () => (await page.locator('.tile .quality:not([hidden])').allInnerTexts()).length, { timeout: 15_000 })
        .toBe(3);
      for (const text of await page.locator('.tile .quality').allInnerTexts()) expect(text).toMatch(/^(Good|Fair|Poor) connection$/);

      // Tiles: one per participant, labelled with name, role and site.
      const labels = await page.locator('.tile .label').allInnerTexts();
      expect(labels).toHaveLength(3);
      for (const person of PEOPLE) {
        const label = labels.find((l) => l.includes(person.name));
        expect(label, `tile for ${person.name} on ${me.name}'s page`).toBeDefined();
        expect(label).toContain(person.roleLabel);
        expect(label).toContain(person.site);
      }
    }
  });

  it('when one leaves, the other two are told and the tile goes away', async () => {
    const leaver = PEOPLE[2];
    await pages[2]!.click('#leave');
    for (const page of pages.slice(0, 2)) {
      await page.waitForFunction(
        (name) => ![...document.querySelectorAll('.tile .label')].some((l) => l.textContent?.includes(name)),
        leaver.name,
        { timeout: 10_000 },
      );
      expect(await page.locator('.tile').count()).toBe(2);
      const participants = await page.evaluate(() =>
        (window as unknown as { demo: { client: { participants: { displayName: string }[] } } }).demo.client.participants.map(
          (p) => p.displayName,
        ),
      );
      expect(participants).not.toContain(leaver.name);
    }
    expect(env.server.rooms.get(ROOM)?.size).toBe(2);
  });

  it("one who comes back sees at once how the others' lines are doing (grades already given are in the join answer)", async () => {
    const back = await open(PEOPLE[2]);
    pages.push(back);
    // Right as the join is done, before any new round of grading: the tiles show the grades given so
    // far (never pushed again while unchanged).
    expect(await back.locator('.tile:not(.self) .quality:not([hidden])').allInnerTexts()).toHaveLength(2);
  });
});
