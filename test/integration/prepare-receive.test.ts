/**
 * A receive transport prepared before the join (`prepareReceive`, a pre-join screen): made only on a
 * room already open here and without fan-out, connected before the join (`connectPrepared`), taken by
 * the join that names it — its consumers made on it, no second transport — and closed by anything
 * else: another prepare, a join that does not name it or waits in the lobby, the connection closing.
 * Media flowing over it is the e2e's part (test/e2e/join-path.e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { TransportOptions } from '../../signaling/protocol/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connect, connectAndJoin, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';

const env = useTestEnvironment();
const DTLS = { role: 'client' as const, fingerprints: [{ algorithm: 'sha-256' as const, value: Array(32).fill('AB').join(':') }] };

/** The transports open on a room's router now (sorted). */
async function transportsOf(room: string): Promise<string[]> {
  return (await env.server.rooms.get(room)!.router.dump()).transportIds.sort();
}
const plus = (list: string[], ...more: (string | undefined)[]) => [...list, ...more].sort();

/** Opens `room` with a lead specialist publishing a microphone and a camera (fake RTP). */
async function openRoom(room: string, spec: TokenSpec = {}): Promise<TestClient> {
  const { client, ack } = await connectAndJoin(
    env.server.url,
    token({ room, role: 'lead_specialist', sub: `lead-${room}`, name: '王芳', ...spec }),
  );
  env.track(client);
  ok(ack);
  const send = ok(await client.request('createTransport', { direction: 'send' }));
  for (const [i, source] of (['microphone', 'camera'] as const).entries()) {
    const kind = source === 'microphone' ? 'audio' : 'video';
    ok(await client.request('produce', { transportId: send.id, kind, source, rtpParameters: fakeRtpParameters(kind, 700 + i) }));
  }
  return client;
}

async function joiner(room: string, sub: string, spec: TokenSpec = {}): Promise<TestClient> {
  return env.track(await connect(env.server.url, token({ room, role: 'specialist', sub, name: '李明', ...spec })));
}

async function prepared(client: TestClient): Promise<TransportOptions> {
  const { transport } = ok(await client.request('prepareReceive', {}));
  expect(transport).not.toBeNull();
  return transport!;
}

describe('a receive transport prepared before the join', () => {
  it('is made on an open room, connected before the join, and taken by the join that names it', async () => {
    const room = 'prep-consult';
    await openRoom(room);
    const li = await joiner(room, 'li-ming');
    const before = await transportsOf(room);
    const transport = await prepared(li);
    expect(transport.iceCandidates.length).toBeGreaterThan(0);
    expect(await transportsOf(room)).toEqual(plus(before, transport.id));

    expect(err(await li.request('connectPrepared', { transportId: 'not-this-one', dtlsParameters: DTLS })).code).toBe('NOT_FOUND');
    ok(await li.request('connectPrepared', { transportId: transport.id, dtlsParameters: DTLS }));
    expect(err(await li.request('connectPrepared', { transportId: transport.id, dtlsParameters: DTLS })).code).toBe('WRONG_STATE');

    const { rtpCapabilities } = ok(await li.request('getRouterRtpCapabilities', {}));
    const joined = ok(await li.request('join', { rtpCapabilities, receive: { transportId: transport.id } }));
    expect(joined.status).toBe('joined');
    if (joined.status !== 'joined') return;
    expect(joined.receive?.transport.id).toBe(transport.id);
    expect(joined.receive?.consumers.map((c) => c.kind).sort()).toEqual(['audio', 'video']);
    // No second receive transport; the prepared one is this participant's now (connected: refused again).
    expect(await transportsOf(room)).toEqual(plus(before, transport.id));
    const again = err(await li.request('connectTransport', { transportId: transport.id, dtlsParameters: DTLS }));
    expect(again.code).toBe('WRONG_STATE');
    // Leaving closes it with the participant's other transports.
    ok(await li.request('leave', {}));
    await expect.poll(() => transportsOf(room)).toEqual(before);
  });

  it('is closed by another prepare, by a join that does not name it, and by the connection closing', async () => {
    const room = 'prep-closing';
    await openRoom(room);
    const before = await transportsOf(room);
    const zhao = await joiner(room, 'zhao-lei');
    const first = await prepared(zhao);
    const second = await prepared(zhao);
    expect(await transportsOf(room)).toEqual(plus(before, second.id));
    expect(first.id).not.toBe(second.id);

    const { rtpCapabilities } = ok(await zhao.request('getRouterRtpCapabilities', {}));
    const joined = ok(await zhao.request('join', { rtpCapabilities, receive: {} }));
    const made = joined.status === 'joined' ? joined.receive?.transport.id : undefined;
    expect(made).toBeDefined();
    expect(made).not.toBe(second.id);
    expect(await transportsOf(room)).toEqual(plus(before, made));

    const sun = await joiner(room, 'sun-li');
    await prepared(sun);
    sun.close();
    await expect.poll(() => transportsOf(room)).toEqual(plus(before, made));
  });

  it('is closed when the join waits in the lobby', async () => {
    const room = 'prep-lobby';
    const lead = await openRoom(room);
    ok(await lead.request('setRoomLocked', { locked: true }));
    const before = await transportsOf(room);
    const clinic = await joiner(room, 'chen-jie', {
      role: 'clinic_doctor',
      name: '陈洁',
      site: { id: 'anping', name: '安平县医院', level: 'county_hospital' },
    });
    const transport = await prepared(clinic);
    const { rtpCapabilities } = ok(await clinic.request('getRouterRtpCapabilities', {}));
    const answer = ok(await clinic.request('join', { rtpCapabilities, receive: { transportId: transport.id } }));
    expect(answer.status).toBe('waiting');
    expect(await transportsOf(room)).toEqual(before);
  });

  it('is not made where nothing can be prepared: a room not open here, a broadcast', async () => {
    const early = await joiner('prep-not-open', 'first-in');
    expect(ok(await early.request('prepareReceive', {}))).toEqual({ transport: null });
    expect(env.server.rooms.get('prep-not-open')).toBeUndefined();

    const room = 'prep-broadcast';
    await openRoom(room, { kind: 'broadcast', role: 'presenter', name: '健康讲座主讲人' });
    const viewer = await joiner(room, 'viewer-1', { kind: 'broadcast', role: 'viewer', name: '患者张女士' });
    expect(ok(await viewer.request('prepareReceive', {}))).toEqual({ transport: null });
  });
});
