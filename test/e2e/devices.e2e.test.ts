/**
 * Devices during a call: the page lists its cameras, microphones and speakers, and the clinic doctor
 * switches camera mid-call (here Chromium's fake camera with other constraints: a new capture) and
 * microphone. The specialist keeps decoding video and hearing audio throughout, and sees no one
 * leave or join and no track removed or added: the producer stayed, only what it carries changed.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openSdkPage, pathStats, sdkJoin, waitForStats, type PathStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'mdt-devices-0611';

type Client = {
  devices(): Promise<{ cameras: unknown[]; microphones: unknown[]; speakers: unknown[] }>;
  switchCamera(deviceId?: string, constraints?: MediaTrackConstraints): Promise<MediaStreamTrack>;
  switchMicrophone(deviceId?: string, constraints?: MediaTrackConstraints): Promise<MediaStreamTrack>;
  on(event: string, listener: (...args: unknown[]) => void): void;
};

const frames = (s: PathStats, from: string) =>
  s.inbound.filter((i) => i.name === from && i.kind === 'video').reduce((n, i) => n + i.framesDecoded, 0);
const energy = (s: PathStats, from: string) =>
  s.inbound.filter((i) => i.name === from && i.kind === 'audio').reduce((n, i) => n + i.totalAudioEnergy, 0);

async function keepsReceiving(page: Page, from: string): Promise<void> {
  const before = await pathStats(page);
  await expect.poll(async () => frames(await pathStats(page), from), { timeout: 8000 }).toBeGreaterThan(frames(before, from) + 10);
  await expect.poll(async () => energy(await pathStats(page), from), { timeout: 8000 }).toBeGreaterThan(energy(before, from));
}

describe('devices', () => {
  it('lists devices, switches camera and microphone mid-call without the other side seeing a leave, join or new track', async () => {
    const camera = { width: 320, height: 240, frameRate: 15 };
    const doctor = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(doctor, { identity: 'zhao-lei', name: '赵磊', role: 'clinic_doctor', room: ROOM, caseId: 'CASE-1', camera })).toBe(
      'joined',
    );
    const specialist = await openSdkPage(env.browser, env.server.url);
    expect(
      await sdkJoin(specialist, { identity: 'wang-fang', name: '王芳', role: 'lead_specialist', room: ROOM, caseId: 'CASE-1', camera }),
    ).toBe('joined');
    await waitForStats(specialist, (s) => frames(s, '赵磊') > 0 && energy(s, '赵磊') > 0);
    await specialist.evaluate(() => {
      const t = (window as unknown as { t: { client: Client; seen: string[] } }).t;
      t.seen = [];
      for (const e of ['participantLeft', 'participantJoined', 'trackRemoved', 'trackAdded']) t.client.on(e, () => t.seen.push(e));
    });

    const list = await doctor.evaluate(async () => {
      const d = await (window as unknown as { t: { client: Client } }).t.client.devices();
      return { cameras: d.cameras.length, microphones: d.microphones.length };
    });
    expect(list.cameras).toBeGreaterThan(0);
    expect(list.microphones).toBeGreaterThan(0);

    const switched = await doctor.evaluate(async () => {
      const client = (window as unknown as { t: { client: Client } }).t.client;
      const video = await client.switchCamera(undefined, { width: 160, height: 120, frameRate: 15 });
      const audio = await client.switchMicrophone(undefined, { echoCancellation: false });
      return { video: [video.readyState, video.getSettings().width], audio: audio.readyState };
    });
    expect(switched).toEqual({ video: ['live', 160], audio: 'live' });
    await keepsReceiving(specialist, '赵磊');
    expect(await specialist.evaluate(() => (window as unknown as { t: { seen: string[] } }).t.seen)).toEqual([]);
    const room = env.server.rooms.get(ROOM)!;
    expect(
      room
        .participants()
        .find((p) => p.info.displayName === '赵磊')!
        .producerInfos()
        .map((i) => i.source)
        .sort(),
    ).toEqual(['camera', 'microphone']);
    await doctor.context().close();
    await specialist.context().close();
  }, 60_000);
});
