/**
 * A shared screen (imaging, an ECG, a lab report) is sent for legibility: the SDK captures it with
 * the browser's screen picker (auto-accepted here), marks it `contentHint = 'detail'`, caps it at
 * 1080p and 15 fps in one layer, and the other side decodes it as the `screen` source.
 */
import { describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'e2e-screen-imaging';

describe('screen share for medicine', () => {
  it('sends the screen sharp (detail, ≤ 1080p, ≤ 15 fps, one layer) and the other side decodes it', async () => {
    const lead = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(lead, { identity: 'zhang-min', name: '张敏', role: 'lead_specialist', room: ROOM, publish: false })).toBe(
      'joined',
    );
    const doctor = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(doctor, { identity: 'wang-fang', name: '王芳', role: 'clinic_doctor', room: ROOM, publish: false })).toBe(
      'joined',
    );

    const sent = await lead.evaluate(async () => {
      const c = (window as unknown as { t: { client: { publishScreen(): Promise<MediaStreamTrack> } } }).t.client;
      const track = await c.publishScreen();
      const settings = track.getSettings();
      return { hint: track.contentHint, height: settings.height ?? 0, frameRate: settings.frameRate ?? 0 };
    });
    expect(sent.hint).toBe('detail');
    expect(sent.height).toBeLessThanOrEqual(1080);
    expect(sent.frameRate).toBeLessThanOrEqual(15);

    const stats = await waitForStats(doctor, (s) => s.inbound.some((i) => i.name === '张敏' && i.kind === 'video' && i.framesDecoded > 3));
    expect(stats.inbound.filter((i) => i.name === '张敏' && i.kind === 'video')).toHaveLength(1);
    const sources = await doctor.evaluate(() =>
      (window as unknown as { t: { client: { tracks: { source: string }[] } } }).t.client.tracks.map((t) => t.source),
    );
    expect(sources).toEqual(['screen']);
  }, 60_000);
});
