/**
 * A receive transport prepared before the join (`prepareReceive`, a pre-join screen): made only on a
 * room already open here and without fan-out, connected before the join (`connectPrepared`), taken by
 * the join that names it — its consumers made on it, no second transport — and closed by anything
 * else: another prepare, a join that does not name it or waits in the lobby, the connection closing.
 * Media flowing over it is the e2e's part (test/e2e/join-path.e2e.test.ts).
 */
import type { types } from 'mediasoup';
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
  return (await publisher(room, `lead-${room}`, ['microphone', 'camera'], { role: 'lead_specialist', name: '王芳', ...spec })).client;
}

/** Someone joined to `room` publishing `sources` (fake RTP); their producer ids by source. */
async function publisher(
  room: string,
  sub: string,
  sources: ('microphone' | 'camera')[],
  spec: TokenSpec = {},
): Promise<{ client: TestClient; producers: Record<string, string> }> {
  const { client, ack } = await connectAndJoin(env.server.url, token({ room, role: 'specialist', sub, name: '赵雷', ...spec }));
  env.track(client);
  ok(ack);
  const send = ok(await client.request('createTransport', { direction: 'send' }));
  const producers: Record<string, string> = {};
  for (const [i, source] of sources.entries()) {
    const kind = source === 'microphone' ? 'audio' : 'video';
    const rtpParameters = fakeRtpParameters(kind, 700 + 10 * sources.length + i);
    producers[source] = ok(await client.request('produce', { transportId: send.id, kind, source, rtpParameters })).producerId;
  }
  return { client, producers };
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

/** Every consumer made on `room`'s router from now on (the tracks made ahead among them). */
function watchConsumers(room: string): types.Consumer[] {
  const made: types.Consumer[] = [];
  env.server.rooms.get(room)!.router.observer.on('newtransport', (t) => t.observer.on('newconsumer', (c) => void made.push(c)));
  return made;
}

async function capabilities(client: TestClient) {
  return ok(await client.request('getRouterRtpCapabilities', {})).rtpCapabilities;
}

describe("the room's tracks made ahead with the prepared transport", () => {
  it('are paused and carry the media only; the join takes them, resumes those wired, makes the rest', async () => {
    const room = 'prep-tracks';
    const lead = await publisher(room, 'wang-fang', ['microphone', 'camera'], { role: 'lead_specialist', name: '王芳' });
    const made = watchConsumers(room);
    const li = await joiner(room, 'li-ming');
    const rtpCapabilities = await capabilities(li);
    const { transport, tracks = [] } = ok(await li.request('prepareReceive', { rtpCapabilities }));
    expect(transport).not.toBeNull();
    expect(tracks.map((t) => t.producerId).sort()).toEqual([lead.producers['microphone'], lead.producers['camera']].sort());
    // Not whose: no participant, no source before the join.
    for (const t of tracks) expect(Object.keys(t).sort()).toEqual(['id', 'kind', 'producerId', 'rtpParameters']);
    expect(made.map((c) => [c.id, c.paused])).toEqual(tracks.map((t) => [t.id, true]));
    const mic = tracks.find((t) => t.kind === 'audio')!;
    const camera = tracks.find((t) => t.kind === 'video')!;

    // Meanwhile the lead's camera goes and a clinic doctor's comes.
    ok(await lead.client.request('closeProducer', { producerId: lead.producers['camera']! }));
    const clinic = await publisher(room, 'chen-jie', ['camera'], { role: 'clinic_doctor', name: '陈洁' });

    const joined = ok(await li.request('join', { rtpCapabilities, receive: { transportId: transport!.id, wired: [mic.id, camera.id] } }));
    expect(joined.status).toBe('joined');
    if (joined.status !== 'joined' || !joined.receive) throw new Error('no receive in the answer');
    const { consumers, resumed } = joined.receive;
    // The microphone wired ahead is taken and resumed; the clinic's camera is made now, paused.
    expect(consumers.map((c) => [c.producerId, c.participantId, c.source]).sort()).toEqual(
      [
        [lead.producers['microphone'], joined.participants.find((p) => p.identity === 'wang-fang')!.id, 'microphone'],
        [clinic.producers['camera'], joined.participants.find((p) => p.identity === 'chen-jie')!.id, 'camera'],
      ].sort(),
    );
    expect(consumers.find((c) => c.producerId === lead.producers['microphone'])!.id).toBe(mic.id);
    expect(resumed).toEqual([mic.id]);
    const byId = new Map(made.map((c) => [c.id, c]));
    expect(byId.get(mic.id)!.paused).toBe(false);
    expect(byId.get(camera.id)!.closed).toBe(true);
    const fresh = consumers.find((c) => c.producerId === clinic.producers['camera'])!;
    expect(byId.get(fresh.id)!.paused).toBe(true);
    ok(await li.request('resumeConsumer', { consumerId: fresh.id }));
    // Counted as received: the microphone is not consumed twice.
    const twice = err(await li.request('consume', { producerId: lead.producers['microphone']!, transportId: transport!.id }));
    expect(twice.code).toBe('WRONG_STATE');
  });

  it('are not made for whoever the lobby would hold, nor of one’s own tracks', async () => {
    const room = 'prep-tracks-locked';
    const lead = await publisher(room, 'wang-fang', ['microphone', 'camera'], { role: 'lead_specialist', name: '王芳' });
    ok(await lead.client.request('setRoomLocked', { locked: true }));
    const clinic = await joiner(room, 'chen-jie', { role: 'clinic_doctor', name: '陈洁' });
    const held = ok(await clinic.request('prepareReceive', { rtpCapabilities: await capabilities(clinic) }));
    expect(held.transport).not.toBeNull();
    expect(held.tracks).toEqual([]);
    // A specialist of the care team passes the lobby: the tracks come.
    const li = await joiner(room, 'li-ming');
    expect(ok(await li.request('prepareReceive', { rtpCapabilities: await capabilities(li) })).tracks).toHaveLength(2);
    // The lead's second window: their own tracks are not received.
    const again = await joiner(room, 'wang-fang', { role: 'lead_specialist', name: '王芳' });
    expect(ok(await again.request('prepareReceive', { rtpCapabilities: await capabilities(again) })).tracks).toEqual([]);
  });

  it('are not made, nor the transport, for whoever the join would refuse: another case, a role the room does not take, someone removed', async () => {
    const room = 'prep-tracks-refused';
    const lead = await publisher(room, 'wang-fang', ['microphone', 'camera'], { role: 'lead_specialist', name: '王芳' });
    const before = await transportsOf(room);
    const otherCase = await joiner(room, 'he-jun', { caseId: 'CASE-OTHER', name: '何军' });
    const refused = err(await otherCase.request('prepareReceive', { rtpCapabilities: await capabilities(otherCase) }));
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toMatch(/another case/);
    const viewer = await joiner(room, 'viewer-9', { role: 'viewer', name: '患者家属' });
    expect(err(await viewer.request('prepareReceive', { rtpCapabilities: await capabilities(viewer) })).code).toBe('FORBIDDEN');
    // Someone the moderator removed, back at the pre-join screen.
    const { client: zhao, ack } = await connectAndJoin(env.server.url, token({ room, role: 'specialist', sub: 'zhao-lei', name: '赵雷' }));
    env.track(zhao);
    ok(await lead.client.request('removeParticipant', { participantId: ok(ack).self.id }));
    const removed = await joiner(room, 'zhao-lei');
    const banned = err(await removed.request('prepareReceive', { rtpCapabilities: await capabilities(removed) }));
    expect(banned.message).toMatch(/removed/);
    expect(await transportsOf(room)).toEqual(before);
  });

  it('resume only what they are: other ids named as wired resume nothing; bad input changes nothing', async () => {
    const room = 'prep-tracks-bad';
    await openRoom(room);
    const made = watchConsumers(room);
    const sun = await joiner(room, 'sun-li');
    const rtpCapabilities = await capabilities(sun);
    expect(err(await sun.request('prepareReceive', { rtpCapabilities: 'all of them' as never })).code).toBe('BAD_REQUEST');
    expect(made).toEqual([]);
    const { transport, tracks = [] } = ok(await sun.request('prepareReceive', { rtpCapabilities }));
    expect(tracks).toHaveLength(2);
    const tooMany = Array.from({ length: 33 }, (_, i) => `id-${i}`);
    const refused = err(await sun.request('join', { rtpCapabilities, receive: { transportId: transport!.id, wired: tooMany } }));
    expect(refused.code).toBe('BAD_REQUEST');
    expect(
      env.server.rooms
        .get(room)!
        .participants()
        .map((p) => p.info.identity),
    ).not.toContain('sun-li');

    const { id: otherTransport } = ok(await (await joiner(room, 'zhou-qi')).request('prepareReceive', {})).transport!;
    const joined = ok(
      await sun.request('join', { rtpCapabilities, receive: { transportId: transport!.id, wired: ['not-a-track', otherTransport] } }),
    );
    if (joined.status !== 'joined' || !joined.receive) throw new Error('no receive in the answer');
    expect(joined.receive.resumed).toEqual([]);
    expect(joined.receive.consumers.map((c) => c.id).sort()).toEqual(tracks.map((t) => t.id).sort());
    expect(made.filter((c) => tracks.some((t) => t.id === c.id)).every((c) => c.paused)).toBe(true);
  });
});
