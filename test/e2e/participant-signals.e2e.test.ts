/**
 * What a tile needs besides the picture: who turned their microphone off (participantMuted) and how
 * loud each person is (audioLevels, read only while the page listens).
 */
import { describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'e2e-signals-derm';

type W = {
  t: {
    client: {
      self: { id: string };
      on(e: string, f: (...a: unknown[]) => void): () => void;
      setPublishedPaused(source: string, paused: boolean): Promise<void>;
    };
    muted?: unknown[][];
    levels?: Record<string, number>[];
  };
};

describe('participant signals', () => {
  it('participantMuted when a microphone goes off and on; audioLevels with the speaker’s level while listened to', async () => {
    const lead = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(lead, { identity: 'li-na', name: '李娜', role: 'lead_specialist', room: ROOM })).toBe('joined');
    const doctor = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(doctor, { identity: 'zhao-lei', name: '赵磊', role: 'clinic_doctor', room: ROOM, publish: false })).toBe('joined');
    await waitForStats(doctor, (s) => s.inbound.some((i) => i.name === '李娜' && i.kind === 'audio' && i.totalAudioEnergy > 0));
    const leadId = await lead.evaluate(() => (window as unknown as W).t.client.self.id);

    await doctor.evaluate(() => {
      const t = (window as unknown as W).t;
      t.muted = [];
      t.levels = [];
      t.client.on('participantMuted', (p, source, muted) => t.muted!.push([(p as { id: string }).id, source, muted]));
      t.client.on('audioLevels', (levels) => t.levels!.push(levels as Record<string, number>));
    });
    await doctor.waitForFunction(
      () => ((window as unknown as W).t.levels ?? []).some((l) => Object.values(l).some((v) => v > 0)),
      undefined,
      {
        timeout: 15_000,
      },
    );
    const levels = await doctor.evaluate(() => (window as unknown as W).t.levels!);
    expect(levels.some((l) => (l[leadId] ?? 0) > 0)).toBe(true);
    expect(levels.flatMap((l) => Object.keys(l)).every((id) => id === leadId)).toBe(true);

    await lead.evaluate(() => (window as unknown as W).t.client.setPublishedPaused('microphone', true));
    await doctor.waitForFunction(() => ((window as unknown as W).t.muted ?? []).length >= 1, undefined, { timeout: 10_000 });
    await lead.evaluate(() => (window as unknown as W).t.client.setPublishedPaused('microphone', false));
    await doctor.waitForFunction(() => ((window as unknown as W).t.muted ?? []).length >= 2, undefined, { timeout: 10_000 });
    expect(await doctor.evaluate(() => (window as unknown as W).t.muted)).toEqual([
      [leadId, 'microphone', true],
      [leadId, 'microphone', false],
    ]);
  }, 60_000);
});
