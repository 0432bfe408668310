/**
 * A chaired consultation in real browsers: a locked room and a waiting clinic doctor admitted by the
 * lead; a muted participant's audio stops reaching the others and cannot be unmuted by them; a
 * removed participant cannot come back; a signaling cut is survived by the same participant.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, openSdkPage, pathStats, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

const env = useTestEnvironment({ browser: true });
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startTcpProxy(env.server.port);
});
afterAll(async () => {
  await proxy?.close();
});

type Client = { self: { id: string }; participants: { id: string; displayName: string }[]; connectionState: string };
/** Calls `client.<path>(...args)` in the page (path like 'sendChat' or 'moderation.admit'); 'ok' or the error code. */
const call = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate(
    ([m, a]) => {
      const parts = (m as string).split('.');
      const name = parts.pop()!;
      const target = parts.reduce<Record<string, unknown>>(
        (o, k) => o[k] as Record<string, unknown>,
        (window as unknown as { t: { client: Record<string, unknown> } }).t.client,
      );
      return (target[name] as (...x: unknown[]) => Promise<unknown>).apply(target, a as unknown[]).then(
        () => 'ok',
        (e: { code?: string; message: string }) => e.code ?? e.message,
      );
    },
    [method, args] as const,
  );
const selfId = (page: Page) => page.evaluate(() => (window as unknown as { t: { client: Client } }).t.client.self.id);
const audioPackets = async (page: Page, from: string) =>
  (await pathStats(page)).inbound.find((s) => s.name === from && s.kind === 'audio')?.packetsReceived ?? 0;

describe('chaired consultation in Chromium', () => {
  const room = 'e2e-chaired';
  let lead: Page;
  let clinic: Page;

  it('the lead locks the room; a clinic doctor waits and is admitted', async () => {
    lead = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(lead, { identity: 'lead', name: 'Prof. Zhao', role: 'lead_specialist', room })).toBe('joined');
    expect(await call(lead, 'moderation.lockRoom', true)).toBe('ok');

    clinic = await openSdkPage(env.browser, env.server.url);
    expect(
      await sdkJoin(clinic, {
        identity: 'clinic',
        name: 'Dr. Chen',
        role: 'clinic_doctor',
        room,
        url: proxy.url,
        site: { id: 'vc', name: 'Hongqi Village Clinic', level: 'village_clinic' },
      }),
    ).toBe('waiting');
    await lead.waitForFunction(() => (window as unknown as { t: { client: { waiting: unknown[] } } }).t.client.waiting.length === 1);
    const waiting = await lead.evaluate(
      () =>
        (window as unknown as { t: { client: { waiting: { id: string; displayName: string; site: { name: string } }[] } } }).t.client
          .waiting[0]!,
    );
    expect(waiting).toMatchObject({ displayName: 'Dr. Chen', site: { name: 'Hongqi Village Clinic' } });
    expect(await call(lead, 'moderation.admit', waiting.id)).toBe('ok');
    expect(await clinic.evaluate(() => (window as unknown as { t: { admitted: Promise<string> } }).t.admitted)).toBe('joined');

    await waitForStats(lead, (s) => s.inbound.some((i) => i.name === 'Dr. Chen' && i.kind === 'audio' && i.totalAudioEnergy > 0));
    await waitForStats(clinic, (s) => s.inbound.some((i) => i.name === 'Prof. Zhao' && i.kind === 'video' && i.framesDecoded > 0));
  });

  it('a signaling cut is survived: same participant, no leave/join seen, media flows again', async () => {
    const before = await selfId(clinic);
    proxy.cut();
    await clinic.waitForFunction(
      () => (window as unknown as { t: { client: Client } }).t.client.connectionState === 'reconnecting',
      undefined,
      { timeout: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 1500));
    proxy.restore();
    await clinic.waitForFunction(
      () => (window as unknown as { t: { client: Client } }).t.client.connectionState === 'connected',
      undefined,
      { timeout: 15_000 },
    );
    expect(await selfId(clinic)).toBe(before);
    expect(await events(lead, 'participantLeft')).toEqual([]);
    expect((await events(lead, 'participantJoined')).length).toBe(1); // only the admission
    expect((await events(lead, 'participantConnection')).map((e) => e[1])).toEqual(['reconnecting', 'connected']);
    expect(env.server.rooms.get(room)?.size).toBe(2);

    // Media still flows both ways, and the resumed signaling works (a chat round trip).
    const p0 = await audioPackets(lead, 'Dr. Chen');
    await waitForStats(lead, (s) => (s.inbound.find((i) => i.name === 'Dr. Chen' && i.kind === 'audio')?.packetsReceived ?? 0) > p0 + 20);
    expect(await call(clinic, 'sendChat', 'back online')).toBe('ok');
    await lead.waitForFunction(() => (window as unknown as { t: { events: unknown[][] } }).t.events.some((e) => e[0] === 'chatMessage'));
  });

  it("a muted participant's audio stops reaching the others and they cannot unmute", async () => {
    const clinicId = await selfId(clinic);
    expect(await call(lead, 'moderation.muteParticipant', clinicId, 'microphone')).toBe('ok');
    await clinic.waitForFunction(() =>
      (window as unknown as { t: { client: { mutedByModerator: string[] } } }).t.client.mutedByModerator.includes('microphone'),
    );
    await new Promise((r) => setTimeout(r, 1000)); // packets in flight drain
    const p1 = await audioPackets(lead, 'Dr. Chen');
    await new Promise((r) => setTimeout(r, 2000));
    const p2 = await audioPackets(lead, 'Dr. Chen');
    expect(p2 - p1).toBeLessThanOrEqual(2);
    expect(await call(clinic, 'setPublishedPaused', 'microphone', false)).toBe('FORBIDDEN');

    expect(await call(lead, 'moderation.allowUnmute', clinicId, 'microphone')).toBe('ok');
    await clinic.waitForFunction(
      () => !(window as unknown as { t: { client: { mutedByModerator: string[] } } }).t.client.mutedByModerator.includes('microphone'),
    );
    expect(await call(clinic, 'setPublishedPaused', 'microphone', false)).toBe('ok');
    const p3 = await audioPackets(lead, 'Dr. Chen');
    await waitForStats(lead, (s) => (s.inbound.find((i) => i.name === 'Dr. Chen' && i.kind === 'audio')?.packetsReceived ?? 0) > p3 + 20);
  });

  it('a removed participant is told and cannot rejoin or resume', async () => {
    const clinicId = await selfId(clinic);
    expect(await call(lead, 'moderation.removeParticipant', clinicId)).toBe('ok');
    await clinic.waitForFunction(() => (window as unknown as { t: { events: unknown[][] } }).t.events.some((e) => e[0] === 'disconnected'));
    expect((await events(clinic, 'disconnected'))[0]?.[0]).toMatchObject({ reason: 'removed' });
    await lead.waitForFunction(
      (id) => !(window as unknown as { t: { client: Client } }).t.client.participants.some((p) => p.id === id),
      clinicId,
    );

    const again = await openSdkPage(env.browser, env.server.url);
    await expect(sdkJoin(again, { identity: 'clinic', name: 'Dr. Chen', role: 'clinic_doctor', room })).rejects.toThrow(/removed/);
  });
});
