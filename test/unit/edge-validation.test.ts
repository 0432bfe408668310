/**
 * The signaling edge keeps control characters out of the RTP structures clients send (codec names and
 * parameters end up in the SDP FFmpeg reads for recordings and HLS): what Chromium really sends
 * passes; CR/LF and friends in any free-form string are BAD_REQUEST naming the field.
 */
import { describe, expect, it } from 'vitest';
import { parseRequest, ProtocolError, type RequestPayload } from '../../signaling/protocol/index.js';

/** A Chromium camera (VP8 simulcast with RIDs) and microphone, as mediasoup-client hands them over. */
const chromiumCamera = {
  mid: '1',
  codecs: [
    {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90000,
      parameters: {},
      rtcpFeedback: [
        { type: 'goog-remb', parameter: '' },
        { type: 'transport-cc', parameter: '' },
        { type: 'ccm', parameter: 'fir' },
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
      ],
    },
    { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
  ],
  headerExtensions: [
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} },
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 10, encrypt: false, parameters: {} },
    { uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2, encrypt: false, parameters: {} },
    { uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 3, encrypt: false, parameters: {} },
  ],
  encodings: [
    { rid: 'r0', active: true, scalabilityMode: 'L1T3', scaleResolutionDownBy: 4, maxBitrate: 150000, dtx: false },
    { rid: 'r1', active: true, scalabilityMode: 'L1T3', scaleResolutionDownBy: 2, maxBitrate: 500000, dtx: false },
    { rid: 'r2', active: true, scalabilityMode: 'L1T3', scaleResolutionDownBy: 1, maxBitrate: 1200000, dtx: false },
  ],
  rtcp: { cname: 'bT6PAHB1j3yXq9a8', reducedSize: true },
};
const chromiumMicrophone = {
  mid: '0',
  codecs: [
    {
      mimeType: 'audio/opus',
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      parameters: { minptime: 10, useinbandfec: 1, 'sprop-stereo': 0, usedtx: 1 },
      rtcpFeedback: [{ type: 'transport-cc', parameter: '' }],
    },
  ],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1, encrypt: false, parameters: {} }],
  encodings: [{ ssrc: 1867304012, dtx: false }],
  rtcp: { cname: 'bT6PAHB1j3yXq9a8', reducedSize: true },
};
const h264 = {
  mimeType: 'video/H264',
  payloadType: 102,
  clockRate: 90000,
  parameters: { 'level-asymmetry-allowed': 1, 'packetization-mode': 1, 'profile-level-id': '42e01f' },
};

const produce = (rtpParameters: unknown, kind = 'video', source = 'camera') =>
  parseRequest('produce', { transportId: 't-1', kind, source, rtpParameters });

/** Parses, expecting BAD_REQUEST; returns the field → reason details. */
function refused(parse: () => unknown): Record<string, string> {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const error = caught as ProtocolError;
  expect(error.code).toBe('BAD_REQUEST');
  // The message names the field too, and never carries a raw line break back.
  expect(error.message).not.toMatch(/[\r\n]/);
  return error.details as Record<string, string>;
}

const injected = '1\r\nm=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000';

describe('RTP structures at the signaling edge', () => {
  it('accepts what Chromium sends: VP8 simulcast with RTX and RIDs, Opus, H264', () => {
    expect(() => produce(chromiumCamera)).not.toThrow();
    expect(() => produce(chromiumMicrophone, 'audio', 'microphone')).not.toThrow();
    expect(() => produce({ ...chromiumCamera, codecs: [h264] })).not.toThrow();
    const parsed = produce(chromiumMicrophone, 'audio', 'microphone') as RequestPayload<'produce'>;
    // Fields the edge does not bound pass through untouched.
    expect(parsed.rtpParameters.encodings?.[0]).toEqual({ ssrc: 1867304012, dtx: false });
    expect(parsed.rtpParameters.codecs[0]?.parameters).toEqual(chromiumMicrophone.codecs[0]?.parameters);
  });

  it.each<[string, (p: typeof chromiumCamera) => unknown, string]>([
    [
      'a codec parameter value with CR LF',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { 'packetization-mode': injected } }] }),
      'rtpParameters.codecs.0.parameters.packetization-mode',
    ],
    [
      'a codec parameter value with a bare LF',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { 'profile-level-id': '42e01f\nm=video 5006 RTP/AVP 96' } }] }),
      'rtpParameters.codecs.0.parameters.profile-level-id',
    ],
    [
      'a codec parameter value with NUL',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { x: 'a\u0000' } }] }),
      'rtpParameters.codecs.0.parameters.x',
    ],
    [
      'a codec parameter value with U+2028',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { x: 'a\u2028b' } }] }),
      'rtpParameters.codecs.0.parameters.x',
    ],
    [
      'a codec parameter value with ;',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { x: '1;y=2' } }] }),
      'rtpParameters.codecs.0.parameters.x',
    ],
    [
      'a codec parameter value of 300 characters',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { x: 'a'.repeat(300) } }] }),
      'rtpParameters.codecs.0.parameters.x',
    ],
    [
      'a codec parameter value that is an object',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { x: { y: 1 } } }] }),
      'rtpParameters.codecs.0.parameters.x',
    ],
    [
      'a codec parameter name with LF',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { 'x\nm=audio 5004 RTP/AVP 0': 1 } }] }),
      'rtpParameters.codecs.0.parameters',
    ],
    [
      'a codec parameter name with = and a space',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: { 'a=b c': 1 } }] }),
      'rtpParameters.codecs.0.parameters',
    ],
    [
      '40 codec parameters',
      (p) => ({ ...p, codecs: [{ ...h264, parameters: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, i])) }] }),
      'rtpParameters.codecs.0.parameters',
    ],
    [
      'a mimeType with CR LF',
      (p) => ({ ...p, codecs: [{ ...h264, mimeType: 'video/H264/90000\r\nm=video 5006 RTP/AVP 96' }] }),
      'rtpParameters.codecs.0.mimeType',
    ],
    [
      'a mimeType that is not audio/ or video/',
      (p) => ({ ...p, codecs: [{ ...h264, mimeType: 'application/sdp' }] }),
      'rtpParameters.codecs.0.mimeType',
    ],
    [
      'an RTCP feedback parameter with LF',
      (p) => ({ ...p, codecs: [{ ...h264, rtcpFeedback: [{ type: 'nack', parameter: 'pli\n' }] }] }),
      'rtpParameters.codecs.0.rtcpFeedback.0.parameter',
    ],
    [
      'a header extension URI with CR LF',
      (p) => ({ ...p, headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid\r\na=x', id: 4 }] }),
      'rtpParameters.headerExtensions.0.uri',
    ],
    [
      'a header extension parameter with LF',
      (p) => ({ ...p, headerExtensions: [{ uri: 'urn:x', id: 4, parameters: { a: 'b\n' } }] }),
      'rtpParameters.headerExtensions.0.parameters.a',
    ],
    ['an RTCP cname with LF', (p) => ({ ...p, rtcp: { cname: 'cname\nm=audio 5004 RTP/AVP 0' } }), 'rtpParameters.rtcp.cname'],
    ['a MID with CR', (p) => ({ ...p, mid: '1\r' }), 'rtpParameters.mid'],
    ['a MID with a space', (p) => ({ ...p, mid: 'a b' }), 'rtpParameters.mid'],
    ['a RID with LF', (p) => ({ ...p, encodings: [{ rid: 'r0\n' }] }), 'rtpParameters.encodings.0.rid'],
    [
      'a scalability mode with LF',
      (p) => ({ ...p, encodings: [{ rid: 'r0', scalabilityMode: 'L1T3\n' }] }),
      'rtpParameters.encodings.0.scalabilityMode',
    ],
  ])('produce: refuses %s', (_what, hostile, field) => {
    expect(refused(() => produce(hostile(chromiumCamera)))).toHaveProperty([field]);
  });

  it('join: refuses the same in the device capabilities', () => {
    const codec = { kind: 'video', mimeType: 'video/H264', preferredPayloadType: 102, clockRate: 90000 };
    const join = (rtpCapabilities: unknown) => parseRequest('join', { rtpCapabilities });
    expect(() =>
      join({
        codecs: [{ ...codec, parameters: h264.parameters }],
        headerExtensions: [{ kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 }],
      }),
    ).not.toThrow();
    expect(refused(() => join({ codecs: [{ ...codec, parameters: { 'packetization-mode': injected } }] }))).toHaveProperty([
      'rtpCapabilities.codecs.0.parameters.packetization-mode',
    ]);
    expect(refused(() => join({ codecs: [{ ...codec, mimeType: 'video/H264\n' }] }))).toHaveProperty(['rtpCapabilities.codecs.0.mimeType']);
    expect(refused(() => join({ headerExtensions: [{ uri: 'urn:x\r\n' }] }))).toHaveProperty(['rtpCapabilities.headerExtensions.0.uri']);
  });

  it('names a hostile parameter name without echoing its line break', () => {
    const details = refused(() => produce({ ...chromiumCamera, codecs: [{ ...h264, parameters: { 'x\r\nm=audio': 1 } }] }));
    expect(details['rtpParameters.codecs.0.parameters']).toContain('"x??m=audio"');
  });
});

describe('payload outline', () => {
  it('a deeply nested or very wide payload is refused before any schema or mediasoup walks it', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 3000; i++) deep = deep['x'] = {};
    const produce = { transportId: 't', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [], extra: root } };
    expect(() => parseRequest('produce', produce)).toThrow(/nested deeper than 12 levels/);
    const wide = { rtpCapabilities: { codecs: [], extra: Array.from({ length: 6000 }, () => ({})) } };
    expect(() => parseRequest('join', wide)).toThrow(/more than 5000 objects/);
    // Real payloads are far inside the bounds.
    expect(() => parseRequest('setRoomLocked', { locked: true })).not.toThrow();
  });
});
