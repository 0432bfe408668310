/**
 * The pre-call check's server half (server/media/PreflightLab.ts) against a real worker and real
 * signaling: what each path offers, validation, the bounds (one test per path per socket, per person
 * per minute, per node), the lifetime and the cleanup when the socket goes.
 */
import { describe, expect, it } from 'vitest';
import type { PreflightAnswers, PreflightRequest, TransportOptions } from '../../signaling/protocol/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connect, connectAndJoin, err, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';

const env = useTestEnvironment({
  env: { PREFLIGHT_TEST_SECONDS: '2', PREFLIGHT_TESTS_PER_MINUTE: '4', PREFLIGHT_MAX_TESTS: '3' },
});

let people = 0;
/** A fresh person (its own per-minute allowance) from a township clinic, not in any room. */
async function clinician(name = '赵磊'): Promise<TestClient> {
  people++;
  const t = token({
    sub: `pf-${people}`,
    name,
    role: 'clinic_doctor',
    room: `pf-room-${people}`,
    site: { id: 'xiaozhuang', name: '小庄乡卫生院', level: 'township_health_centre' },
  });
  return env.track(await connect(env.server.url, t));
}

const step = (c: TestClient, payload: PreflightRequest) => c.request('preflight', payload);
async function open(c: TestClient, path: 'udp' | 'tcp' | 'relay'): Promise<PreflightAnswers['open']> {
  return ok(await step(c, { step: 'open', path })) as PreflightAnswers['open'];
}
const protocols = (t: TransportOptions) => new Set(t.iceCandidates.map((c) => c.protocol));

describe('preflight: the pre-call test transports', () => {
  it('answers ping without joining, and says no TURN relay is offered when none is configured', async () => {
    const c = await clinician();
    const pong = ok(await step(c, { step: 'ping' })) as PreflightAnswers['ping'];
    expect(pong.relay).toBe(false);
    expect(pong.serverTime).toBeGreaterThan(0);
    expect(err(await step(c, { step: 'open', path: 'relay' })).code).toBe('NOT_FOUND');
    expect(env.server.rooms.get('pf-room-1')).toBeUndefined(); // nobody entered a room
  });

  it('limits each test to its path: UDP candidates only, TCP candidates only', async () => {
    const c = await clinician('王芳');
    const udp = await open(c, 'udp');
    const tcp = await open(c, 'tcp');
    expect(protocols(udp.transport)).toEqual(new Set(['udp']));
    expect(protocols(tcp.transport)).toEqual(new Set(['tcp']));
    expect(udp.seconds).toBe(2);
    expect(udp.transport.iceServers).toEqual([]);
    // Reported without media: nothing arrived, no path was found; the report ends the test.
    const report = ok(await step(c, { step: 'report', testId: udp.testId })) as PreflightAnswers['report'];
    expect(report).toEqual({ protocol: null, bytes: 0, packets: 0, bitrate: 0, rttMs: null });
    expect(err(await step(c, { step: 'report', testId: udp.testId })).code).toBe('NOT_FOUND');
    ok(await step(c, { step: 'report', testId: tcp.testId }));
  });

  it('refuses malformed steps with the field named', async () => {
    const c = await clinician('马丽');
    const bad = err(await c.raw('preflight', { step: 'open', path: 'carrier-pigeon' }));
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toContain('path');
    expect(err(await c.raw('preflight', { step: 'report' })).code).toBe('BAD_REQUEST');
    expect(err(await c.raw('preflight', { step: 'open', path: 'udp', extra: 1 })).code).toBe('BAD_REQUEST');
  });

  it('one test per path per connection; another connection cannot use or see it', async () => {
    const c = await clinician('孙强');
    const udp = await open(c, 'udp');
    expect(err(await step(c, { step: 'open', path: 'udp' })).code).toBe('TOO_MANY_REQUESTS');
    const other = await clinician('周静');
    expect(err(await step(other, { step: 'report', testId: udp.testId })).code).toBe('NOT_FOUND');
    ok(await step(c, { step: 'report', testId: udp.testId }));
  });

  it('closes a test by itself after PREFLIGHT_TEST_SECONDS, and all of a socket’s tests when it goes', async () => {
    const c = await clinician('刘洋');
    const udp = await open(c, 'udp');
    expect(env.server.preflightTests).toBeGreaterThan(0);
    await until('the test closed by its time limit', () => (env.server.preflightTests === 0 ? true : undefined), 15_000);
    expect(err(await step(c, { step: 'report', testId: udp.testId })).code).toBe('NOT_FOUND');

    const d = await clinician('陈晨');
    await open(d, 'udp');
    await open(d, 'tcp');
    expect(env.server.preflightTests).toBe(2);
    d.close();
    await until('the closed socket’s tests released', () => (env.server.preflightTests === 0 ? true : undefined), 5000);
  });

  it('bounds one person per minute and the node as a whole', async () => {
    const c = await clinician('黄敏');
    for (let i = 0; i < 2; i++) {
      const a = await open(c, 'udp');
      const b = await open(c, 'tcp');
      ok(await step(c, { step: 'report', testId: a.testId }));
      ok(await step(c, { step: 'report', testId: b.testId }));
    }
    const fifth = err(await step(c, { step: 'open', path: 'udp' }));
    expect(fifth.code).toBe('TOO_MANY_REQUESTS');
    expect(fifth.message).toMatch(/wait \d+ s/);

    // PREFLIGHT_MAX_TESTS=3 on the node: three people hold three tests, a fourth is refused.
    const holders = await Promise.all(['杨帆', '吴婷', '徐明'].map((n) => clinician(n)));
    for (const h of holders) await open(h, 'tcp');
    const late = await clinician('郭亮');
    expect(err(await step(late, { step: 'open', path: 'tcp' })).code).toBe('TOO_MANY_REQUESTS');
    for (const h of holders) h.close();
    await until('the holders’ tests released', () => (env.server.preflightTests === 0 ? true : undefined), 5000);
    await open(late, 'tcp');
  });

  it('is for before joining: a participant in the room is refused', async () => {
    const { client, ack } = await connectAndJoin(env.server.url, token({ room: 'pf-joined', role: 'lead_specialist', name: '林海' }));
    env.track(client);
    ok(ack);
    expect(err(await step(client, { step: 'ping' })).code).toBe('WRONG_STATE');
  });
});
