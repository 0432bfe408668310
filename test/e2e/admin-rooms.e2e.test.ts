/**
 * The operators' room API on a live consultation: three clinicians from three sites in Chromium
 * (real media), seen through an admin token — the room with its case, sites, duration and
 * recording; each participant with role, site, what they publish and their line (bitrates, round
 * trip, loss, mediasoup's score, graded). Then the two interventions: removing a participant (told
 * why, kept out, written to the room's trail with the operator) and closing the room.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { events, openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { THREE_SITES } from '../helpers/people.js';
import { adminToken, token } from '../helpers/tokens.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'mdt-admin-0415';
const PEOPLE = THREE_SITES;

const admin = (path: string, method = 'GET', bearer = adminToken('ops-zhou-min')) =>
  fetch(`${env.server.url}${path}`, { method, headers: { authorization: `Bearer ${bearer}` } });

interface Line {
  sendBitrate: number;
  recvBitrate: number;
  rttMs: number | null;
  lossPercent: number | null;
  score: number | null;
  quality: string;
}
interface Detail {
  id: string;
  caseId: string;
  participants: { id: string; name: string; role: string; site: { id: string }; sources: { source: string }[]; line: Line }[];
}

describe('admin API: rooms', () => {
  it('lists and inspects a live consultation with real media; removes a participant and closes the room, on the trail', async () => {
    const pages: Page[] = [];
    for (const p of PEOPLE) {
      const page = await openSdkPage(env.browser, env.server.url);
      expect(await sdkJoin(page, { ...p, room: ROOM, caseId: 'CASE-ADMIN-1', camera: { width: 320, height: 240, frameRate: 15 } })).toBe(
        'joined',
      );
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) {
      const others = PEOPLE.filter((_, k) => k !== i).map((p) => p.name);
      await waitForStats(page, (s) =>
        others.every((o) => s.inbound.some((x) => x.name === o && x.kind === 'video' && x.framesDecoded > 0)),
      );
    }
    // An access token does not open the operators' API.
    expect((await admin('/admin/rooms', 'GET', token({ room: ROOM, role: 'lead_specialist' }))).status).toBe(401);

    const list = (await (await admin('/admin/rooms')).json()) as { rooms: { id: string; sites: { id: string }[]; participants: number }[] };
    const listed = list.rooms.find((r) => r.id === ROOM);
    expect(listed).toMatchObject({ participants: 3, caseId: 'CASE-ADMIN-1', kind: 'consultation', locked: false, recording: null });
    expect(listed!.sites.map((s) => s.id).sort()).toEqual(['apx', 'hpx', 'slzl']);

    // Lines are measured from mediasoup's statistics: bitrates both ways, RTCP round trips, a grade.
    let detail: Detail | undefined;
    await expect
      .poll(
        async () => {
          detail = (await (await admin(`/admin/rooms/${ROOM}`)).json()) as Detail;
          return detail.participants.every((p) => p.line.sendBitrate > 0 && p.line.recvBitrate > 0 && p.line.rttMs !== null);
        },
        { timeout: 15_000, interval: 1000 },
      )
      .toBe(true);
    expect(detail!.participants.map((p) => p.name).sort()).toEqual(['王芳', '赵磊', '马丽'].sort());
    for (const p of detail!.participants) {
      expect(p.sources.map((s) => s.source).sort()).toEqual(['camera', 'microphone']);
      expect(p.line.quality).toMatch(/^(good|fair|poor)$/);
      expect(p.line.rttMs!).toBeLessThan(1000); // loopback
    }

    // Remove 马丽: she is told, kept out, and the trail says an operator did it.
    const ma = detail!.participants.find((p) => p.name === '马丽')!;
    expect((await admin(`/admin/rooms/${ROOM}/participants/${ma.id}/remove`, 'POST')).status).toBe(200);
    await expect.poll(() => events(pages[2]!, 'disconnected'), { timeout: 5000 }).toHaveLength(1);
    expect(((await events(pages[2]!, 'disconnected'))[0]![0] as { reason: string }).reason).toBe('removed');
    const room = env.server.rooms.get(ROOM)!;
    expect(room.participants().map((p) => p.info.displayName)).not.toContain('马丽');
    const trail = room.caseRecord as unknown as { trail: { events(): { type: string; data?: Record<string, unknown> }[] } };
    expect(trail.trail.events().find((e) => e.type === 'removed')?.data).toMatchObject({ operator: 'ops-zhou-min' });

    // Close the room: everyone is told; it is gone from the list.
    expect((await admin(`/admin/rooms/${ROOM}/close`, 'POST')).status).toBe(200);
    for (const page of pages.slice(0, 2)) await expect.poll(() => events(page, 'disconnected'), { timeout: 5000 }).toHaveLength(1);
    const after = (await (await admin('/admin/rooms')).json()) as { rooms: { id: string }[] };
    expect(after.rooms.map((r) => r.id)).not.toContain(ROOM);
    expect((await admin(`/admin/rooms/${ROOM}`)).status).toBe(404);
    for (const page of pages) await page.context().close();
  }, 60_000);
});
