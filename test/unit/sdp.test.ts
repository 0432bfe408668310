/**
 * The SDP handed to FFmpeg (recorders, HLS): well-formed for the codecs the routers offer, and never
 * written when a value would leave its line — the defence behind the signaling edge's own check.
 */
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { sdpSession, UnsafeSdpValueError, type SdpStream } from '../../recordings/sdp.js';

const opus: types.RtpCodecParameters = {
  mimeType: 'audio/opus',
  payloadType: 100,
  clockRate: 48000,
  channels: 2,
  parameters: { minptime: 10, useinbandfec: 1 },
};
const h264: types.RtpCodecParameters = {
  mimeType: 'video/H264',
  payloadType: 102,
  clockRate: 90000,
  parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
};

const stream = (codec: types.RtpCodecParameters, kind: types.MediaKind = 'audio'): SdpStream => ({
  kind,
  codec,
  rtpPort: 40000,
  rtcpPort: 40001,
});

describe('recorder and HLS SDP', () => {
  it('writes one media section per stream, with rtpmap and fmtp', () => {
    const sdp = sdpSession('王芳 省肿瘤医院 会诊录制', [stream(opus), { ...stream(h264, 'video'), rtpPort: 40002, rtcpPort: 40003 }]);
    expect(sdp.split('\n')).toEqual([
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=王芳 省肿瘤医院 会诊录制',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 40000 RTP/AVP 100',
      'a=rtcp:40001',
      'a=rtpmap:100 opus/48000/2',
      'a=fmtp:100 minptime=10;useinbandfec=1',
      'a=recvonly',
      'm=video 40002 RTP/AVP 102',
      'a=rtcp:40003',
      'a=rtpmap:102 H264/90000',
      'a=fmtp:102 packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1',
      'a=recvonly',
      '',
    ]);
  });

  it('writes no fmtp line for a codec without parameters', () => {
    const sdp = sdpSession('recording', [stream({ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }, 'video')]);
    expect(sdp).not.toContain('a=fmtp');
    expect(sdp).toContain('a=rtpmap:101 VP8/90000');
  });

  // What a clinic doctor's client sent to make FFmpeg open a stream on a port of their choosing.
  const injected = '1\r\nm=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000';
  it.each<[string, Partial<types.RtpCodecParameters>]>([
    ['a parameter value with CR LF', { parameters: { useinbandfec: injected } }],
    ['a parameter value with a bare LF', { parameters: { useinbandfec: '1\nm=video 5006 RTP/AVP 96' } }],
    ['a parameter value with a NUL', { parameters: { useinbandfec: '1\u0000' } }],
    ['a parameter value with U+2028', { parameters: { useinbandfec: '1\u2028m=audio 5004 RTP/AVP 0' } }],
    ['a parameter value with a ;', { parameters: { useinbandfec: '1;sprop-stereo=1' } }],
    ['a parameter value that is not text or a number', { parameters: { useinbandfec: { a: 1 } } }],
    ['a parameter name with LF', { parameters: { ['x\nm=audio 5004 RTP/AVP 0\na=x']: 1 } }],
    ['a parameter name with = or a space', { parameters: { 'a=b c': 1 } }],
    ['a codec name with CR LF', { mimeType: `audio/opus/48000\r\nm=audio 5004 RTP/AVP 0` }],
  ])('refuses %s', (_what, change) => {
    expect(() => sdpSession('recording', [stream({ ...opus, ...change })])).toThrow(UnsafeSdpValueError);
  });

  it('refuses a session name with a line break', () => {
    expect(() => sdpSession('recording\r\nm=audio 5004 RTP/AVP 0', [stream(opus)])).toThrow(/control character/);
  });
});
