/**
 * Hostile input over real signaling (real server, real mediasoup worker, real Socket.IO): a client
 * that consumes the same track in a loop, publishes with a MID or an SSRC already in use, or writes
 * line breaks into its codec parameters. Each is refused with a code a client can act on (never
 * INTERNAL), creates nothing on the worker, and the session keeps working afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { JoinResult, WireRtpParameters } from '../../signaling/protocol/index.js';
import type { Participant } from '../../server/rooms/Participant.js';
import { connect, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment();

const WANG_FANG: TokenSpec = {
  sub: 'wang-fang',
  name: '王芳',
  role: 'lead_specialist',
  site: { id: 'scch', name: '省肿瘤医院', level: 'tertiary_hospital' },
};
const ZHAO_LEI: TokenSpec = {
  sub: 'zhao-lei',
  name: '赵磊',
  role: 'specialist',
  site: { id: 'apch', name: '安平县医院', level: 'county_hospital' },
};
const MA_LI: TokenSpec = {
  sub: 'ma-li',
  name: '马丽',
  role: 'clinic_doctor',
  site: { id: 'hqvc', name: '红旗村卫生室', level: 'village_clinic' },
};

async function joined(room: string, spec: TokenSpec): Promise<{ client: TestClient; join: JoinResult }> {
  const client = env.track(await connect(env.server.url, token({ ...spec, room })));
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const join = ok(await client.request('join', { rtpCapabilities }));
  if (join.status !== 'joined') throw new Error('expected to join directly');
  return { client, join };
}

/** The participant as the room core holds it, to read what the worker really has. */
function participantOf(room: string, join: JoinResult): Participant {
  const participant = env.server.rooms.get(room)?.participant(join.self.id);
  if (!participant) throw new Error(`${join.self.displayName} is not in ${room}`);
  return participant;
}

/** What the worker holds on a transport (its own dump, not our bookkeeping). */
async function onWorker(participant: Participant, transportId: string): Promise<{ producers: number; consumers: number }> {
  const dump = await participant.transport(transportId).dump();
  return { producers: dump.producerIds.length, consumers: dump.consumerIds.length };
}

async function publishMicrophone(client: TestClient, ssrc: number): Promise<{ transportId: string; producerId: string }> {
  const send = ok(await client.request('createTransport', { direction: 'send' }));
  const rtpParameters = fakeRtpParameters('audio', ssrc);
  const { producerId } = ok(await client.request('produce', { transportId: send.id, kind: 'audio', source: 'microphone', rtpParameters }));
  return { transportId: send.id, producerId };
}

describe('consuming the same track again', () => {
  it('is refused (WRONG_STATE) however often it is tried, creating nothing; a new track can be received', async () => {
    const room = 'hostile-consume';
    const wang = await joined(room, WANG_FANG);
    const zhao = await joined(room, ZHAO_LEI);
    const mic = await publishMicrophone(wang.client, 31_000);

    const recv = ok(await zhao.client.request('createTransport', { direction: 'recv' }));
    const first = ok(await zhao.client.request('consume', { producerId: mic.producerId, transportId: recv.id }));

    const codes = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const error = err(await zhao.client.request('consume', { producerId: mic.producerId, transportId: recv.id }));
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      if (i === 0) expect(error.message).toMatch(/already receive/);
    }
    expect(Object.fromEntries(codes)).toEqual({ WRONG_STATE: 40 });
    // Through a second receive transport too: the rule is per participant, not per transport.
    const recv2 = ok(await zhao.client.request('createTransport', { direction: 'recv' }));
    expect(err(await zhao.client.request('consume', { producerId: mic.producerId, transportId: recv2.id })).code).toBe('WRONG_STATE');

    const zhaoCore = participantOf(room, zhao.join);
    expect(await onWorker(zhaoCore, recv.id)).toEqual({ producers: 0, consumers: 1 });
    expect(await onWorker(zhaoCore, recv2.id)).toEqual({ producers: 0, consumers: 0 });
    expect(zhaoCore.consumerCount).toBe(1);
    // The one consumer still works.
    ok(await zhao.client.request('resumeConsumer', { consumerId: first.id }));

    // Once the track closes its consumer goes, and the re-published microphone can be received.
    const closed = zhao.client.next('consumerClosed');
    ok(await wang.client.request('closeProducer', { producerId: mic.producerId }));
    expect((await closed).consumerId).toBe(first.id);
    const again = ok(
      await wang.client.request('produce', {
        transportId: mic.transportId,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 31_001),
      }),
    );
    ok(await zhao.client.request('consume', { producerId: again.producerId, transportId: recv.id }));
    expect(zhaoCore.consumerCount).toBe(1);
    expect(await onWorker(zhaoCore, recv.id)).toEqual({ producers: 0, consumers: 1 });
  });
});

describe('publishing with identifiers already in use', () => {
  const camera = (ssrc: number, mid?: string): WireRtpParameters => ({ ...fakeRtpParameters('video', ssrc), ...(mid ? { mid } : {}) });

  it('answers a duplicate MID or SSRC with BAD_REQUEST (not INTERNAL), creating nothing', async () => {
    const room = 'hostile-produce';
    const ma = await joined(room, MA_LI);
    const send = ok(await ma.client.request('createTransport', { direction: 'send' }));
    const microphone = { ...fakeRtpParameters('audio', 41_000), mid: '0' };
    ok(await ma.client.request('produce', { transportId: send.id, kind: 'audio', source: 'microphone', rtpParameters: microphone }));

    const sameMid = err(
      await ma.client.request('produce', { transportId: send.id, kind: 'video', source: 'camera', rtpParameters: camera(41_100, '0') }),
    );
    expect(sameMid.code).toBe('BAD_REQUEST');
    expect(sameMid.message).toMatch(/MID .*already used/);

    const sameSsrc = err(
      await ma.client.request('produce', { transportId: send.id, kind: 'video', source: 'camera', rtpParameters: camera(41_000, '1') }),
    );
    expect(sameSsrc.code).toBe('BAD_REQUEST');
    expect(sameSsrc.message).toMatch(/SSRC .*already used/);

    const sameRtxSsrc = err(
      await ma.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'camera',
        rtpParameters: { ...camera(41_200, '1'), encodings: [{ ssrc: 41_200, rtx: { ssrc: 41_000 } }] },
      }),
    );
    expect(sameRtxSsrc.code).toBe('BAD_REQUEST');
    expect(sameRtxSsrc.message).toMatch(/SSRC .*already used/);

    // Nothing was made of the refused ones; the camera publishes with identifiers of its own.
    const maCore = participantOf(room, ma.join);
    expect(await onWorker(maCore, send.id)).toEqual({ producers: 1, consumers: 0 });
    expect(maCore.hasSource('camera')).toBe(false);
    ok(await ma.client.request('produce', { transportId: send.id, kind: 'video', source: 'camera', rtpParameters: camera(41_300, '1') }));
    expect(await onWorker(maCore, send.id)).toEqual({ producers: 2, consumers: 0 });
  });
});

describe('line breaks in codec parameters', () => {
  it('are refused at the edge with BAD_REQUEST naming the field, and nothing is published', async () => {
    const room = 'hostile-sdp';
    const ma = await joined(room, MA_LI);
    const send = ok(await ma.client.request('createTransport', { direction: 'send' }));
    const h264 = {
      mimeType: 'video/H264',
      payloadType: 102,
      clockRate: 90000,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f\r\nm=video 5006 RTP/AVP 96\r\na=rtpmap:96 VP8/90000' },
      rtcpFeedback: [],
    };
    const refused = err(
      await ma.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'camera',
        rtpParameters: { ...fakeRtpParameters('video', 51_000), codecs: [h264] },
      }),
    );
    expect(refused.code).toBe('BAD_REQUEST');
    expect(refused.details).toHaveProperty(['rtpParameters.codecs.0.parameters.profile-level-id']);
    expect(await onWorker(participantOf(room, ma.join), send.id)).toEqual({ producers: 0, consumers: 0 });

    // The same codec with honest parameters is accepted.
    ok(
      await ma.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'camera',
        rtpParameters: {
          ...fakeRtpParameters('video', 51_000),
          codecs: [{ ...h264, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }],
        },
      }),
    );
  });
});
