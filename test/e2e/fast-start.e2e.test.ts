/**
 * Fast start: a joining doctor's first picture of a simulcast camera comes from its lowest layer (the
 * smallest key frame to wait for), then the consumer moves to the top layer, or to the layer the
 * client chose meanwhile. Real Chromium on both sides; widths read from the receiver's getStats().
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });

/** Widths of the first decoded frame and of the frames decoded until `until` holds (or 20 s). */
async function widthsFrom(page: Page, name: string, until: (width: number) => boolean): Promise<number[]> {
  const widths: number[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const stats = await waitForStats(page, (s) => s.inbound.some((i) => i.name === name && i.kind === 'video' && i.framesDecoded > 0));
    const width = stats.inbound.find((i) => i.name === name && i.kind === 'video')?.frameWidth ?? 0;
    if (width > 0 && widths.at(-1) !== width) widths.push(width);
    if (until(width)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return widths;
}

async function consultation(room: string): Promise<{ doctor: Page }> {
  const lead = await openSdkPage(env.browser, env.server.url);
  // The lead publishes camera (simulcast: 320, 640 and 1280 wide) and microphone.
  expect(await sdkJoin(lead, { identity: 'zhou-hui', name: '周慧', role: 'lead_specialist', room })).toBe('joined');
  const doctor = await openSdkPage(env.browser, env.server.url);
  return { doctor };
}

describe('fast start of a simulcast camera', () => {
  it('shows the lowest layer first, then the top one', async () => {
    const { doctor } = await consultation('e2e-fast-start-top');
    expect(
      await sdkJoin(doctor, { identity: 'li-jun', name: '李军', role: 'clinic_doctor', room: 'e2e-fast-start-top', publish: false }),
    ).toBe('joined');
    const widths = await widthsFrom(doctor, '周慧', (w) => w >= 1280);
    expect(widths[0]).toBeLessThanOrEqual(320);
    expect(widths.at(-1)).toBe(1280);
  }, 60_000);

  it('keeps a layer the client chose before the first frame, and applies it after', async () => {
    const room = 'e2e-fast-start-medium';
    const { doctor } = await consultation(room);
    expect(await sdkJoin(doctor, { identity: 'li-jun', name: '李军', role: 'clinic_doctor', room, publish: false })).toBe('joined');
    // A thumbnail-sized tile: medium quality asked for as soon as the track is there — before its
    // first frame or during the move up; either way the choice must hold, not be moved past.
    await doctor.waitForFunction(() =>
      (window as unknown as { t: { client?: { tracks: { kind: string }[] } } }).t.client?.tracks.some((t) => t.kind === 'video'),
    );
    await doctor.evaluate(async () => {
      type C = { tracks: { id: string; kind: string }[]; setReceiveQuality(id: string, q: string): Promise<void> };
      const c = (window as unknown as { t: { client: C } }).t.client;
      await c.setReceiveQuality(c.tracks.find((t) => t.kind === 'video')!.id, 'medium');
    });
    const widths = await widthsFrom(doctor, '周慧', (w) => w >= 640);
    expect(widths.at(-1)).toBe(640);
    // It stays there: not moved on to the top layer afterwards.
    await new Promise((r) => setTimeout(r, 2500));
    const after = await waitForStats(doctor, (s) => s.inbound.some((i) => i.name === '周慧' && i.kind === 'video'));
    expect(after.inbound.find((i) => i.name === '周慧' && i.kind === 'video')?.frameWidth).toBe(640);
  }, 60_000);
});
