/**
 * Real server, real mediasoup worker, real Socket.IO clients: the join → transports → produce →
 * consume → leave path, and the refusals a misbehaving or malicious client must get.
 */
import { describe, expect, it } from 'vitest';
import type { JoinResult } from '../../signaling/protocol/index.js';
import { connect, err, fakeRtpParameters, fakeSimulcastParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

// Rooms here close the moment they empty (no linger): tests look at what a closed room leaves behind.
const env = useTestEnvironment({ env: { ROOM_EMPTY_LINGER_SECONDS: '0' } });

async function joined(spec: TokenSpec): Promise<{ client: TestClient; join: JoinResult; caps: unknown }> {
  const client = await connect(env.server.url, token(spec));
  env.track(client);
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const join = ok(await client.request('join', { rtpCapabilities }));
  if (join.status !== 'joined') throw new Error('expected to join directly');
  return { client, join, caps: rtpCapabilities };
}

describe('authentication at connect', () => {
  it('refuses a socket without a token', async () => {
    const error = await connect(env.server.url, undefined).catch((e: { wire?: { code: string } }) => e);
    expect((error as { wire: { code: string } }).wire.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a socket with a forged token', async () => {
    const error = await connect(env.server.url, token({}, {}, 'f'.repeat(64))).catch((e: { wire?: { message: string } }) => e);
    expect((error as { wire: { message: string } }).wire.message).toMatch(/signature/);
  });

  it('a connection outliving its token cannot join with it; one already in the room goes on', async () => {
    const room = 'auth-expiry-onc';
    // Both tokens valid for 1 s (plus the verifier's 5 s tolerance): 吴磊 joins at once, 何平 only after.
    const short = (spec: TokenSpec) => token({ room, ...spec }, { expiresIn: 1 });
    const inside = env.track(await connect(env.server.url, short({ sub: 'wu-lei', name: '吴磊', role: 'lead_specialist' })));
    const late = env.track(await connect(env.server.url, short({ sub: 'he-ping', name: '何平', role: 'clinic_doctor' })));
    const { rtpCapabilities } = ok(await late.request('getRouterRtpCapabilities', {}));
    expect(ok(await inside.request('join', { rtpCapabilities })).status).toBe('joined');
    await new Promise((r) => setTimeout(r, 6_500));
    const refused = err(await late.request('join', { rtpCapabilities }));
    expect(refused.code).toBe('UNAUTHENTICATED');
    expect(refused.message).toMatch(/expired/);
    expect(
      env.server.rooms
        .get(room)!
        .participants()
        .map((p) => p.info.displayName),
    ).toEqual(['吴磊']);
    // The participant who joined while the token was valid is still served after it lapsed.
    ok(await inside.request('createTransport', { direction: 'recv' }));
  }, 20_000);
});

describe('consultation signaling', () => {
  it('joins, publishes, consumes and leaves', async () => {
    const room = 'integ-flow';
    const lead = await joined({ room, sub: 'lead', name: 'Prof. Zhao', role: 'lead_specialist' });
    expect(lead.join.self).toMatchObject({ identity: 'lead', displayName: 'Prof. Zhao', role: 'lead_specialist' });
    expect(lead.join.permissions).toContain('moderate');
    expect(lead.join.participants).toEqual([]);

    const clinicJoined = lead.client.next('participantJoined');
    const clinic = await joined({
      room,
      sub: 'clinic',
      name: 'Dr. Chen',
      role: 'clinic_doctor',
      site: { id: 'vc-1', name: 'Hongqi Village Clinic', level: 'village_clinic' },
    });
    expect((await clinicJoined).participant).toMatchObject({
      displayName: 'Dr. Chen',
      site: { name: 'Hongqi Village Clinic', level: 'village_clinic' },
    });
    expect(clinic.join.participants.map((p) => p.displayName)).toEqual(['Prof. Zhao']);

    // The lead publishes a microphone; the clinic is told and consumes it.
    const send = ok(await lead.client.request('createTransport', { direction: 'send' }));
    expect(send.iceCandidates.length).toBeGreaterThan(0);
    expect(send.iceCandidates.every((c) => c.address === '127.0.0.1')).toBe(true);
    expect(new Set(send.iceCandidates.map((c) => c.protocol))).toEqual(new Set(['udp', 'tcp']));
    const added = clinic.client.next('producerAdded');
    const { producerId } = ok(
      await lead.client.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 1111),
      }),
    );
    expect((await added).producer).toMatchObject({ id: producerId, kind: 'audio', source: 'microphone', participantId: lead.join.self.id });

    const recv = ok(await clinic.client.request('createTransport', { direction: 'recv' }));
    const consumed = ok(await clinic.client.request('consume', { producerId, transportId: recv.id }));
    expect(consumed).toMatchObject({ producerId, kind: 'audio', source: 'microphone', participantId: lead.join.self.id });
    ok(await clinic.client.request('resumeConsumer', { consumerId: consumed.id }));
    // Audio has no simulcast layers to choose from.
    expect(err(await clinic.client.request('setPreferredLayers', { consumerId: consumed.id, spatialLayer: 0 })).message).toMatch(
      /no layers/,
    );

    // A third participant sees the existing producer in its join answer.
    const third = await joined({ room, sub: 'nurse', name: 'Nurse Liu', role: 'care_team' });
    expect(third.join.producers.map((p) => p.id)).toEqual([producerId]);

    // Closing the producer closes the consumer, and the consumer's owner is told.
    const consumerClosed = clinic.client.next('consumerClosed');
    ok(await lead.client.request('closeProducer', { producerId }));
    expect((await consumerClosed).consumerId).toBe(consumed.id);

    // Leaving: the others are told, with the reason.
    const left = clinic.client.next('participantLeft');
    ok(await lead.client.request('leave', {}));
    expect(await left).toEqual({ participantId: lead.join.self.id, reason: 'left' });

    // A disconnect counts as leaving too.
    const gone = clinic.client.next('participantLeft');
    third.client.close();
    expect((await gone).reason).toBe('disconnected');
  });

  it('lets each subscriber choose a simulcast layer, and ranks shared screens above cameras', async () => {
    const room = 'integ-simulcast';
    const pub = await joined({ room, sub: 'pub' });
    const sub = await joined({ room, sub: 'sub' });
    const send = ok(await pub.client.request('createTransport', { direction: 'send' }));
    const cam = ok(
      await pub.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'camera',
        rtpParameters: fakeSimulcastParameters(7000),
      }),
    ).producerId;
    const screen = ok(
      await pub.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'screen',
        rtpParameters: fakeRtpParameters('video', 7100),
      }),
    ).producerId;
    const recv = ok(await sub.client.request('createTransport', { direction: 'recv' }));
    const camConsumer = ok(await sub.client.request('consume', { producerId: cam, transportId: recv.id }));
    const screenConsumer = ok(await sub.client.request('consume', { producerId: screen, transportId: recv.id }));
    ok(await sub.client.request('setPreferredLayers', { consumerId: camConsumer.id, spatialLayer: 0, temporalLayer: 0 }));
    const subscriber = env.server.rooms.get(room)!.participant(sub.join.self.id)!;
    const consumer = subscriber.consumer(camConsumer.id);
    expect(consumer.type).toBe('simulcast');
    expect(consumer.preferredLayers).toEqual({ spatialLayer: 0, temporalLayer: 0 });
    expect(subscriber.consumer(screenConsumer.id).priority).toBeGreaterThan(consumer.priority);
  });

  it('places a second session of the same identity instead of duplicating it', async () => {
    const room = 'integ-replace';
    const first = await joined({ room, sub: 'dr-same' });
    const ended = first.client.next('sessionEnded');
    const second = await joined({ room, sub: 'dr-same' });
    expect((await ended).reason).toBe('replaced');
    expect(second.join.participants).toEqual([]);
    expect(env.server.rooms.get(room)?.size).toBe(1);
  });

  it('closes the room when the last participant leaves', async () => {
    const room = 'integ-close';
    const only = await joined({ room });
    expect(env.server.rooms.get(room)).toBeDefined();
    ok(await only.client.request('leave', {}));
    expect(env.server.rooms.get(room)).toBeUndefined();
  });
});

describe('refusals (each answered with a code, none changes anything)', () => {
  it('requests before join get WRONG_STATE', async () => {
    const c = await connect(env.server.url, token({ room: 'integ-state' }));
    env.track(c);
    expect(err(await c.request('createTransport', { direction: 'recv' })).code).toBe('WRONG_STATE');
    expect(
      err(
        await c.request('produce', { transportId: 'x', kind: 'audio', source: 'microphone', rtpParameters: fakeRtpParameters('audio', 1) }),
      ).code,
    ).toBe('WRONG_STATE');
    expect(env.server.rooms.get('integ-state')).toBeUndefined();
  });

  it('malformed payloads and unknown requests get BAD_REQUEST and the socket keeps working', async () => {
    const { client } = await joined({ room: 'integ-bad' });
    const bad = err(await client.raw('createTransport', { direction: 'both' }));
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(bad.details).toHaveProperty(['direction']);
    expect(err(await client.raw('createTransport', 'send')).code).toBe('BAD_REQUEST');
    expect(err(await client.request('createTransport')).code).toBe('BAD_REQUEST');
    expect(err(await client.raw('dropDatabase', {})).message).toMatch(/unknown request/);
    expect(err(await client.request('consume', { producerId: 'nope', transportId: 'nope' })).code).toBe('NOT_FOUND');
    expect(
      err(
        await client.request('connectTransport', {
          transportId: 'nope',
          dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] },
        }),
      ).code,
    ).toBe('NOT_FOUND');
    // Still serving this socket afterwards.
    expect(ok(await client.request('createTransport', { direction: 'recv' })).id).toBeTruthy();
  });

  it('produce is checked against role, source and transport', async () => {
    const room = 'integ-produce';
    const doc = await joined({ room, role: 'clinic_doctor' });
    const send = ok(await doc.client.request('createTransport', { direction: 'send' }));
    const recv = ok(await doc.client.request('createTransport', { direction: 'recv' }));
    expect(
      err(
        await doc.client.request('produce', {
          transportId: send.id,
          kind: 'video',
          source: 'microphone',
          rtpParameters: fakeRtpParameters('video', 5),
        }),
      ).code,
    ).toBe('BAD_REQUEST');
    expect(
      err(
        await doc.client.request('produce', {
          transportId: recv.id,
          kind: 'audio',
          source: 'microphone',
          rtpParameters: fakeRtpParameters('audio', 6),
        }),
      ).message,
    ).toMatch(/send transport/);
    const broken = {
      ...fakeRtpParameters('audio', 7),
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 8000, channels: 2 }],
    };
    expect(
      err(await doc.client.request('produce', { transportId: send.id, kind: 'audio', source: 'microphone', rtpParameters: broken })).code,
    ).toBe('BAD_REQUEST');
    ok(
      await doc.client.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 8),
      }),
    );
    expect(
      err(
        await doc.client.request('produce', {
          transportId: send.id,
          kind: 'audio',
          source: 'microphone',
          rtpParameters: fakeRtpParameters('audio', 9),
        }),
      ).code,
    ).toBe('WRONG_STATE');
    expect(env.server.rooms.get(room)?.producerInfos()).toHaveLength(1);

    // A care-team member publishes audio/video but not a screen.
    const nurse = await joined({ room, role: 'care_team' });
    const nurseSend = ok(await nurse.client.request('createTransport', { direction: 'send' }));
    expect(
      err(
        await nurse.client.request('produce', {
          transportId: nurseSend.id,
          kind: 'video',
          source: 'screen',
          rtpParameters: fakeRtpParameters('video', 10),
        }),
      ).code,
    ).toBe('FORBIDDEN');
  });

  it('an observer receives only: no send transport', async () => {
    const obs = await joined({ room: 'integ-observer', role: 'observer' });
    expect(err(await obs.client.request('createTransport', { direction: 'send' })).code).toBe('FORBIDDEN');
    expect(ok(await obs.client.request('createTransport', { direction: 'recv' })).id).toBeTruthy();
  });

  it('a token for room X cannot join room Y, nor a room of another case or kind', async () => {
    const c = await connect(env.server.url, token({ room: 'room-x' }));
    env.track(c);
    const { rtpCapabilities } = ok(await c.request('getRouterRtpCapabilities', {}));
    expect(err(await c.request('join', { rtpCapabilities, roomId: 'room-y' })).code).toBe('FORBIDDEN');
    expect(env.server.rooms.get('room-y')).toBeUndefined();

    await joined({ room: 'room-z', caseId: 'CASE-A' });
    const other = await connect(env.server.url, token({ room: 'room-z', caseId: 'CASE-B' }));
    env.track(other);
    expect(err(await other.request('join', { rtpCapabilities })).message).toMatch(/another case/);
    const wrongKind = await connect(env.server.url, token({ room: 'room-z', kind: 'training', role: 'specialist', caseId: 'CASE-A' }));
    env.track(wrongKind);
    expect(err(await wrongKind.request('join', { rtpCapabilities })).code).toBe('FORBIDDEN');
    expect(env.server.rooms.get('room-z')?.size).toBe(1);
  });

  it('a role that has no place in a kind of room is refused', async () => {
    const c = await connect(env.server.url, token({ room: 'integ-patient', role: 'patient' }));
    env.track(c);
    const { rtpCapabilities } = ok(await c.request('getRouterRtpCapabilities', {}));
    expect(err(await c.request('join', { rtpCapabilities })).code).toBe('FORBIDDEN');
  });

  it('floods are cut with TOO_MANY_REQUESTS', async () => {
    const { client } = await joined({ room: 'integ-flood' });
    const acks = await Promise.all(Array.from({ length: 260 }, () => client.request('getRouterRtpCapabilities', {})));
    expect(acks.some((a) => !a.ok && a.error.code === 'TOO_MANY_REQUESTS')).toBe(true);
    expect(acks.filter((a) => a.ok).length).toBeGreaterThan(100);
  });
});

describe('HTTP', () => {
  it('serves health, readiness, metrics and dev tokens', async () => {
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200);
    const ready = (await (await fetch(`${env.server.url}/readyz`)).json()) as { status: string; workers: number };
    expect(ready).toMatchObject({ status: 'ready', workers: 1 });
    expect(await (await fetch(`${env.server.url}/metrics`)).text()).toMatch(/telemed_media_workers 1/);
    const res = await fetch(`${env.server.url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Dr. Demo',
        role: 'specialist',
        site: { id: 's', name: 'S', level: 'county_hospital' },
        room: 'r1',
        kind: 'consultation',
        caseId: 'C1',
      }),
    });
    expect(res.status).toBe(200);
    const { token: minted } = (await res.json()) as { token: string };
    const c = await connect(env.server.url, minted);
    env.track(c);
    expect(c.socket.connected).toBe(true);
    const bad = await fetch(`${env.server.url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', role: 'surgeon' }),
    });
    expect(bad.status).toBe(400);
  });
});
