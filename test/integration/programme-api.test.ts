/**
 * The programme API over HTTP: who may create and edit a programme (the room's moderators, with
 * their access token), what is refused and why, what the page is told with and without a token, and
 * the page and hls.js served from the server.
 */
import { describe, expect, it } from 'vitest';
import type { ProgrammeDetails, ProgrammeView } from '../../signaling/protocol/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { token } from '../helpers/tokens.js';

const env = useTestEnvironment();
const ROOM = 'jkjy-gxy-2026-12-03';
const SITE = { id: 'bj-fw', name: '北京大学第一医院', level: 'tertiary_hospital' as const };
const DETAILS: ProgrammeDetails = {
  title: '高血压的居家管理',
  description: '心内科医生讲解家庭血压测量。',
  scheduledStart: '2026-12-03T15:00:00+08:00',
  presenterName: '王芳',
  hospital: SITE.name,
  visibility: 'registered',
  replay: { allowed: true, retentionDays: 90 },
};
const broadcastToken = (role: 'lead_specialist' | 'presenter' | 'viewer', room = ROOM) =>
  token({ room, kind: 'broadcast', role, sub: `bj-${role}`, name: '赵敏', site: SITE, caseId: undefined });

async function put(
  body: unknown,
  auth?: string,
): Promise<{ status: number; body: { error?: { code: string; details?: object } } & Partial<ProgrammeView> }> {
  const res = await fetch(`${env.server.url}/api/programmes/${ROOM}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

async function view(auth?: string): Promise<{ status: number; body: ProgrammeView }> {
  const res = await fetch(`${env.server.url}/api/programmes/${ROOM}`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
  return { status: res.status, body: (await res.json()) as ProgrammeView };
}

describe('programme API', () => {
  it('refuses everyone but the room’s moderators, and malformed details', async () => {
    expect((await view()).status).toBe(404);
    expect((await put(DETAILS)).status).toBe(401);
    expect((await put(DETAILS, 'not-a-token')).status).toBe(401);
    expect((await put(DETAILS, broadcastToken('viewer'))).body.error?.code).toBe('FORBIDDEN');
    expect((await put(DETAILS, broadcastToken('presenter'))).body.error?.code).toBe('FORBIDDEN');
    expect((await put(DETAILS, broadcastToken('lead_specialist', 'another-room'))).body.error?.code).toBe('FORBIDDEN');
    const consultationLead = token({ room: ROOM, kind: 'consultation', role: 'lead_specialist', caseId: 'CASE-HTN-1' });
    expect((await put(DETAILS, consultationLead)).body.error?.code).toBe('FORBIDDEN');

    const bad = await put(
      { ...DETAILS, scheduledStart: '2026-12-03 15:00', replay: { allowed: true, retentionDays: 0 }, extra: 1 },
      broadcastToken('lead_specialist'),
    );
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error?.details ?? {})).toEqual(expect.arrayContaining(['scheduledStart', 'replay.retentionDays']));
    expect((await view()).status).toBe(404);
  });

  it('a moderator creates and edits it; a registered-only programme shows where to watch only with a token', async () => {
    const created = await put(DETAILS, broadcastToken('lead_specialist'));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ state: 'scheduled', mayEdit: true, mayWatch: true, details: DETAILS });

    const anonymous = await view();
    expect(anonymous.body).toMatchObject({ state: 'scheduled', mayWatch: false, mayEdit: false, hlsUrl: null, replay: null, viewers: 0 });
    expect(anonymous.body.details.title).toBe(DETAILS.title);
    expect((await view(broadcastToken('viewer'))).body).toMatchObject({ mayWatch: true, mayEdit: false });
    // An expired or foreign token is no token: the public part of the page still shows.
    expect((await view('garbage')).body).toMatchObject({ mayWatch: false });

    const edited = await put({ ...DETAILS, title: '高血压的居家管理（第二讲）', visibility: 'public' }, broadcastToken('lead_specialist'));
    expect(edited.body.details?.title).toBe('高血压的居家管理（第二讲）');
    expect((await view()).body).toMatchObject({ mayWatch: true });
  });

  it('serves the page, and hls.js from this server', async () => {
    const page = await fetch(`${env.server.url}/watch/${ROOM}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('watch.js');
    expect((await fetch(`${env.server.url}/watch/..%2F..%2Fetc`)).status).toBe(404);
    const hls = await fetch(`${env.server.url}/vendor/hls.min.js`);
    expect(hls.status).toBe(200);
    expect(hls.headers.get('content-type')).toContain('javascript');
    expect((await hls.text()).length).toBeGreaterThan(100_000);
  });
});
