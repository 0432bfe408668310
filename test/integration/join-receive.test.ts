/**
 * Every connection is sent the router's capabilities first, unasked (the SDK loads its device from
 * them: a round trip less). A join that asks to `receive` gets, in the same answer, its receive transport and a paused consumer
 * for each track the room already sends — the first picture without a round trip per track — and a
 * malformed `receive` is refused with nothing joined. `closeTransport` closes what was made on one's
 * own transport (the join's consumers too), so those tracks can be received again.
 */
import { describe, expect, it } from 'vitest';
import { connect, connectAndJoin, err, fakeRtpParameters, ok } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment();
const ROOM = 'join-receive-hep';

describe('join with receive', () => {
  it('answers with the receive transport and a paused consumer per track; resumeConsumer wires them', async () => {
    const { client: zhang, ack } = await connectAndJoin(
      env.server.url,
      token({ room: ROOM, role: 'lead_specialist', sub: 'zhangmin', name: '张敏' }),
    );
    env.track(zhang);
    expect(ok(ack).status).toBe('joined');
    const send = ok(await zhang.request('createTransport', { direction: 'send' }));
    const produced: string[] = [];
    for (const [kind, source, ssrc] of [
      ['audio', 'microphone', 21],
      ['video', 'camera', 22],
    ] as const) {
      const { producerId } = ok(
        await zhang.request('produce', { transportId: send.id, kind, source, rtpParameters: fakeRtpParameters(kind, ssrc) }),
      );
      produced.push(producerId);
    }

    const wang = await connect(env.server.url, token({ room: ROOM, role: 'clinic_doctor', sub: 'wangfang', name: '王芳' }));
    env.track(wang);
    const { rtpCapabilities } = ok(await wang.request('getRouterRtpCapabilities', {}));
    const joined = ok(await wang.request('join', { rtpCapabilities, receive: {} }));
    if (joined.status !== 'joined') throw new Error('expected to join directly');
    const receive = joined.receive!;
    expect(receive.transport.iceCandidates.length).toBeGreaterThan(0);
    expect(receive.transport.iceCandidates.every((c) => c.address === '127.0.0.1')).toBe(true);
    expect(receive.consumers.map((c) => c.producerId).sort()).toEqual([...produced].sort());
    expect(receive.consumers.every((c) => c.participantId === joined.participants.find((p) => p.displayName === '张敏')!.id)).toBe(true);

    const room = env.server.rooms.get(ROOM)!;
    const me = room.participants().find((p) => p.info.displayName === '王芳')!;
    const consumers = receive.consumers.map((c) => me.consumer(c.id));
    expect(consumers.every((c) => c.paused)).toBe(true); // paused until the client has wired them
    for (const c of receive.consumers) ok(await wang.request('resumeConsumer', { consumerId: c.id }));
    expect(consumers.every((c) => !c.paused)).toBe(true);
    // Those consumers are the participant's own: consuming the same track again is refused as a duplicate.
    expect(err(await wang.request('consume', { producerId: produced[0]!, transportId: receive.transport.id })).code).toBe('WRONG_STATE');

    // Closing the transport (the SDK does when the server would not connect it) frees those tracks:
    // they are received again on the next transport. Only one's own transports can be closed.
    expect(err(await zhang.request('closeTransport', { transportId: receive.transport.id })).code).toBe('NOT_FOUND');
    expect(err(await wang.request('closeTransport', { transportId: 'no-such-transport' })).code).toBe('NOT_FOUND');
    expect(me.consumerCount).toBe(2);
    ok(await wang.request('closeTransport', { transportId: receive.transport.id }));
    expect([me.consumerCount, me.transportCount]).toEqual([0, 0]);
    const next = ok(await wang.request('createTransport', { direction: 'recv' }));
    for (const producerId of produced) ok(await wang.request('consume', { producerId, transportId: next.id }));
    expect(me.consumerCount).toBe(2);

    // A sender closing its transport: the others are told its tracks closed.
    ok(await zhang.request('closeTransport', { transportId: send.id }));
    await expect
      .poll(() =>
        wang.received
          .filter((n) => n.name === 'producerClosed')
          .map((n) => (n.payload as { producerId: string }).producerId)
          .sort(),
      )
      .toEqual([...produced].sort());
    await expect.poll(() => me.consumerCount).toBe(0);
  });

  it("pushes the router's capabilities first on every connection, as getRouterRtpCapabilities answers them", async () => {
    const zhou = env.track(await connect(env.server.url, token({ room: ROOM, role: 'clinic_doctor', sub: 'zhoujing', name: '周静' })));
    await expect.poll(() => zhou.received.length).toBeGreaterThan(0);
    const [first] = zhou.received;
    expect(first?.name).toBe('routerCapabilities');
    const asked = ok(await zhou.request('getRouterRtpCapabilities', {}));
    expect(first?.payload).toEqual(asked);
    expect(asked.rtpCapabilities.codecs?.map((c) => c.mimeType)).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8']));
    // Once only: a request asks again, nothing is pushed again.
    expect(zhou.received.filter((n) => n.name === 'routerCapabilities')).toHaveLength(1);
  });

  it('a malformed receive is refused with a clear error and joins nothing', async () => {
    const li = await connect(env.server.url, token({ room: ROOM, role: 'clinic_doctor', sub: 'liqiang', name: '李强' }));
    env.track(li);
    const { rtpCapabilities } = ok(await li.request('getRouterRtpCapabilities', {}));
    const before = env.server.rooms.get(ROOM)?.participants().length ?? 0;
    const refused = err(await li.request('join', { rtpCapabilities, receive: { forceTcp: 'yes' } } as never));
    expect(refused.code).toBe('BAD_REQUEST');
    expect(refused.message).toMatch(/receive/);
    expect(env.server.rooms.get(ROOM)?.participants().length ?? 0).toBe(before);
    // The connection is still usable: a well-formed join (TCP only) works, with TCP candidates only.
    const joined = ok(await li.request('join', { rtpCapabilities, receive: { forceTcp: true } }));
    if (joined.status !== 'joined') throw new Error('expected to join directly');
    expect(joined.receive!.transport.iceCandidates.every((c) => c.protocol === 'tcp')).toBe(true);
  });
});
