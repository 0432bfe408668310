import { describe, expect, it } from 'vitest';
import { ProtocolError, REQUEST_NAMES, isRequestName, parseRequest, type RequestName } from '../../signaling/protocol/index.js';

const opus = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };
const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] };

/** One valid payload per request, and payloads that must be refused with the field they break. */
const CASES: Record<RequestName, { valid: unknown; invalid: [payload: unknown, field: string][] }> = {
  getRouterRtpCapabilities: { valid: {}, invalid: [[{ extra: 1 }, '(payload)']] },
  join: {
    valid: { rtpCapabilities: { codecs: [opus] }, roomId: 'room-1' },
    invalid: [
      [{}, 'rtpCapabilities'],
      [{ rtpCapabilities: { codecs: 'opus' } }, 'rtpCapabilities.codecs'],
      [{ rtpCapabilities: {}, roomId: 7 }, 'roomId'],
      [{ rtpCapabilities: { codecs: [opus] }, receive: { transportId: '' } }, 'receive.transportId'],
      [{ rtpCapabilities: { codecs: [opus] }, receive: { transportId: 't1', wired: 'c1' } }, 'receive.wired'],
      [{ rtpCapabilities: { codecs: [opus] }, receive: { wired: Array.from({ length: 33 }, (_, i) => `c${i}`) } }, 'receive.wired'],
    ],
  },
  prepareReceive: {
    valid: { forceTcp: true, rtpCapabilities: { codecs: [opus] } },
    invalid: [
      [{ forceTcp: 'yes' }, 'forceTcp'],
      [{ rtpCapabilities: { codecs: 'opus' } }, 'rtpCapabilities.codecs'],
      [{ direction: 'recv' }, '(payload)'],
    ],
  },
  connectPrepared: {
    valid: { transportId: 't1', dtlsParameters: dtls },
    invalid: [
      [{ transportId: 't1', dtlsParameters: { fingerprints: [] } }, 'dtlsParameters.fingerprints'],
      [{ dtlsParameters: dtls }, 'transportId'],
    ],
  },
  createTransport: {
    valid: { direction: 'recv', forceTcp: true },
    invalid: [
      [{ direction: 'sideways' }, 'direction'],
      [{ direction: 'send', forceTcp: 'yes' }, 'forceTcp'],
    ],
  },
  connectTransport: {
    valid: { transportId: 't1', dtlsParameters: dtls },
    invalid: [
      [{ transportId: 't1', dtlsParameters: { fingerprints: [] } }, 'dtlsParameters.fingerprints'],
      [
        { transportId: 't1', dtlsParameters: { fingerprints: [{ algorithm: 'md5', value: 'x' }] } },
        'dtlsParameters.fingerprints.0.algorithm',
      ],
      [{ dtlsParameters: dtls }, 'transportId'],
    ],
  },
  restartIce: { valid: { transportId: 't1' }, invalid: [[{ transportId: '' }, 'transportId']] },
  closeTransport: { valid: { transportId: 't1' }, invalid: [[{ transportId: 7 }, 'transportId']] },
  produce: {
    valid: { transportId: 't1', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [opus], encodings: [{ ssrc: 1 }] } },
    invalid: [
      [{ transportId: 't1', kind: 'smell', source: 'microphone', rtpParameters: { codecs: [opus] } }, 'kind'],
      [{ transportId: 't1', kind: 'audio', source: 'radio', rtpParameters: { codecs: [opus] } }, 'source'],
      [{ transportId: 't1', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [] } }, 'rtpParameters.codecs'],
      [
        { transportId: 't1', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [{ ...opus, payloadType: 300 }] } },
        'rtpParameters.codecs.0.payloadType',
      ],
    ],
  },
  closeProducer: { valid: { producerId: 'p1' }, invalid: [[{ producerId: 5 }, 'producerId']] },
  pauseProducer: { valid: { producerId: 'p1' }, invalid: [[{}, 'producerId']] },
  resumeProducer: { valid: { producerId: 'p1' }, invalid: [[{ producerId: 'x'.repeat(65) }, 'producerId']] },
  consume: { valid: { producerId: 'p1', transportId: 't2' }, invalid: [[{ producerId: 'p1' }, 'transportId']] },
  resumeConsumer: { valid: { consumerId: 'c1' }, invalid: [[{ consumerId: null }, 'consumerId']] },
  pauseConsumer: { valid: { consumerId: 'c1' }, invalid: [[{ consumerId: ['c1'] }, 'consumerId']] },
  setPreferredLayers: {
    valid: { consumerId: 'c1', spatialLayer: 2, temporalLayer: 1 },
    invalid: [
      [{ consumerId: 'c1', spatialLayer: 9 }, 'spatialLayer'],
      [{ consumerId: 'c1', spatialLayer: 1.5 }, 'spatialLayer'],
    ],
  },
  leave: { valid: {}, invalid: [[{ now: true }, '(payload)']] },
  resume: {
    valid: { participantId: 'p1', resumeToken: 'x'.repeat(32) },
    invalid: [
      [{ participantId: 'p1', resumeToken: 'short' }, 'resumeToken'],
      [{ resumeToken: 'x'.repeat(32) }, 'participantId'],
    ],
  },
  setRoomLocked: { valid: { locked: true }, invalid: [[{ locked: 'yes' }, 'locked']] },
  admit: { valid: { participantId: 'p1' }, invalid: [[{}, 'participantId']] },
  decline: { valid: { participantId: 'p1' }, invalid: [[{ participantId: '' }, 'participantId']] },
  muteParticipant: {
    valid: { participantId: 'p1', source: 'microphone' },
    invalid: [[{ participantId: 'p1', source: 'screen' }, 'source']],
  },
  allowUnmute: { valid: { participantId: 'p1', source: 'camera' }, invalid: [[{ participantId: 'p1' }, 'source']] },
  stopScreenShare: { valid: { participantId: 'p1' }, invalid: [[{ participantId: 1 }, 'participantId']] },
  removeParticipant: { valid: { participantId: 'p1' }, invalid: [[{ participantId: 'p1', forever: true }, '(payload)']] },
  endRoom: { valid: {}, invalid: [[{ reason: 'done' }, '(payload)']] },
  setHandRaised: { valid: { raised: true }, invalid: [[{ raised: 1 }, 'raised']] },
  sendChat: {
    valid: { text: 'Please share the latest CT images.' },
    invalid: [
      [{ text: '' }, 'text'],
      [{ text: '   ' }, 'text'],
      [{ text: 'x'.repeat(2001) }, 'text'],
    ],
  },
  chatHistory: {
    valid: { before: 'f3b1c2d4-0000-4000-8000-000000000001', limit: 100 },
    invalid: [
      [{ limit: 0 }, 'limit'],
      [{ limit: 101 }, 'limit'],
      [{ limit: 2.5 }, 'limit'],
      [{ before: '' }, 'before'],
      [{ before: 'x'.repeat(65) }, 'before'],
      [{ extra: true }, '(payload)'],
    ],
  },
  askQuestion: {
    valid: { text: 'Can I eat rice after the operation?' },
    invalid: [
      [{ text: 'x'.repeat(501) }, 'text'],
      [{}, 'text'],
    ],
  },
  updateQuestion: {
    valid: { questionId: 'q1', status: 'approved' },
    invalid: [[{ questionId: 'q1', status: 'pending' }, 'status']],
  },
  setOnStage: { valid: { participantId: 'p1', onStage: true }, invalid: [[{ participantId: 'p1' }, 'onStage']] },
  startHls: { valid: {}, invalid: [[{ bitrate: 1 }, '(payload)']] },
  stopHls: { valid: {}, invalid: [[{ now: 1 }, '(payload)']] },
  startRecording: { valid: {}, invalid: [[{ tracks: 'all' }, '(payload)']] },
  stopRecording: { valid: {}, invalid: [[{ force: true }, '(payload)']] },
  acknowledgeRecording: { valid: { sessionId: 's1' }, invalid: [[{}, 'sessionId']] },
  preflight: {
    valid: { step: 'open', path: 'tcp' },
    invalid: [
      [{ step: 'open', path: 'carrier-pigeon' }, 'path'],
      [{ step: 'launch' }, 'step'],
      [{ step: 'report' }, 'testId'],
      [{ step: 'ping', testId: 't1' }, '(payload)'],
      [{ step: 'connect', testId: 't1', dtlsParameters: { fingerprints: [] } }, 'dtlsParameters.fingerprints'],
    ],
  },
  createIngest: {
    valid: { protocol: 'rtmp', name: '骨科健康讲座', ttlSeconds: 3600 },
    invalid: [
      [{ protocol: 'srt', name: 'x' }, 'protocol'],
      [{ protocol: 'whip', name: 'a\nb' }, 'name'],
      [{ protocol: 'whip', name: 'x', ttlSeconds: 10 }, 'ttlSeconds'],
    ],
  },
  listIngests: { valid: {}, invalid: [[{ room: 'x' }, '(payload)']] },
  revokeIngest: { valid: { ingestId: 'i1' }, invalid: [[{}, 'ingestId']] },
};

describe('signaling protocol validation', () => {
  it('has a test case for every request name', () => {
    expect(Object.keys(CASES).sort()).toEqual([...REQUEST_NAMES].sort());
  });

  for (const name of REQUEST_NAMES) {
    describe(name, () => {
      it('accepts a well-formed payload', () => {
        expect(() => parseRequest(name, CASES[name].valid)).not.toThrow();
      });

      for (const [payload, field] of CASES[name].invalid) {
        it(`refuses ${JSON.stringify(payload).slice(0, 80)} naming ${field}`, () => {
          let caught: unknown;
          try {
            parseRequest(name, payload);
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(ProtocolError);
          const error = caught as ProtocolError;
          expect(error.code).toBe('BAD_REQUEST');
          expect(error.status).toBe(400);
          expect(error.details).toHaveProperty([field]);
          expect(error.message).toContain(name);
        });
      }

      it('refuses non-object payloads', () => {
        for (const junk of ['string', 42, [1, 2], true]) {
          expect(() => parseRequest(name, junk)).toThrow(ProtocolError);
        }
      });
    });
  }

  it('knows which event names are requests', () => {
    expect(isRequestName('join')).toBe(true);
    expect(isRequestName('toString')).toBe(false);
    expect(isRequestName('__proto__')).toBe(false);
    expect(isRequestName(42)).toBe(false);
  });

  it('round-trips errors over the wire', () => {
    const wire = new ProtocolError('FORBIDDEN', 'no', { a: 'b' }).toWire();
    expect(wire).toEqual({ code: 'FORBIDDEN', status: 403, message: 'no', details: { a: 'b' } });
    const back = ProtocolError.fromWire(JSON.parse(JSON.stringify(wire)));
    expect(back.code).toBe('FORBIDDEN');
    expect(back.details).toEqual({ a: 'b' });
  });
});
