/**
 * The WHIP offer/answer module on canned offers: what an encoder's offer becomes in mediasoup's
 * terms (codec choice, RTX, extensions, SSRC or simulcast RIDs, DTLS role), what is refused and why,
 * and the answer written back (ICE-lite, one section per offered section, rejected ones at port 0).
 */
import { describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';
import { whipAnswer } from '../../server/ingest/whipAnswer.js';
import { constrainedBaseline, readWhipOffer, UnacceptableOfferError } from '../../server/ingest/whipOffer.js';
import { MAX_SDP_BYTES, parseSdp, SdpError } from '../../server/ingest/sdp.js';

const EXTENSIONS: types.RtpHeaderExtension[] = [
  { kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false, direction: 'sendrecv' },
  { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false, direction: 'sendrecv' },
  { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', preferredId: 2, preferredEncrypt: false, direction: 'recvonly' },
];

const FINGERPRINT = 'sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF';

function offer(video: string[], audio = true): string {
  return [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${audio ? '0 ' : ''}1`,
    ...(audio
      ? [
          'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
          'c=IN IP4 0.0.0.0',
          'a=ice-ufrag:EsAw',
          'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y',
          `a=fingerprint:${FINGERPRINT}`,
          'a=setup:actpass',
          'a=mid:0',
          'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
          'a=extmap:9 urn:example:unknown',
          'a=sendonly',
          'a=rtcp-mux',
          'a=rtpmap:111 opus/48000/2',
          'a=rtcp-fb:111 transport-cc',
          'a=fmtp:111 minptime=10;useinbandfec=1',
          'a=rtpmap:0 PCMU/8000',
          'a=ssrc:1001 cname:encoder',
        ]
      : []),
    'm=video 9 UDP/TLS/RTP/SAVPF ' +
      video
        .filter((l) => l.startsWith('a=rtpmap:'))
        .map((l) => l.split(/[: ]/)[1])
        .join(' '),
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:EsAw',
    'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y',
    `a=fingerprint:${FINGERPRINT}`,
    'a=setup:actpass',
    'a=mid:1',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    'a=sendonly',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    ...video,
    '',
  ].join('\r\n');
}

const H264_AND_VP8 = [
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 nack pli',
  'a=rtcp-fb:102 goog-remb',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:106 H264/90000',
  'a=rtcp-fb:106 nack',
  'a=rtcp-fb:106 nack pli',
  'a=rtcp-fb:106 bogus',
  'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 rtx/90000',
  'a=fmtp:107 apt=106',
  'a=rtpmap:96 VP8/90000',
  'a=ssrc-group:FID 2001 2002',
  'a=ssrc:2001 cname:encoder',
  'a=ssrc:2002 cname:encoder',
];

describe('WHIP offers', () => {
  it('takes Opus and the first acceptable video codec, with its RTX, known extensions and SSRCs', () => {
    const read = readWhipOffer(offer(H264_AND_VP8), EXTENSIONS);
    expect(read.dtlsParameters).toEqual({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: FINGERPRINT.split(' ')[1] }] });
    expect(read.answerSetup).toBe('passive');
    const [audio, video] = read.tracks;
    expect(audio).toMatchObject({ kind: 'audio', source: 'microphone', mid: '0' });
    expect(audio!.rtpParameters.codecs).toEqual([
      {
        mimeType: 'audio/opus',
        payloadType: 111,
        clockRate: 48000,
        channels: 2,
        parameters: { minptime: 10, useinbandfec: 1 },
        rtcpFeedback: [{ type: 'transport-cc' }],
      },
    ]);
    expect(audio!.rtpParameters.headerExtensions?.map((e) => e.uri)).toEqual(['urn:ietf:params:rtp-hdrext:sdes:mid']);
    expect(video).toMatchObject({ kind: 'video', source: 'camera', rids: [] });
    // packetization-mode 0 is skipped; 106 is taken with its RTX, and only the feedback mediasoup knows.
    expect(video!.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
      ['video/H264', 106],
      ['video/rtx', 107],
    ]);
    expect(video!.rtpParameters.codecs[0]!.rtcpFeedback).toEqual([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }]);
    expect(video!.rtpParameters.encodings).toEqual([{ ssrc: 2001, rtx: { ssrc: 2002 } }]);
    expect(video!.rtpParameters.rtcp).toEqual({ cname: 'encoder', reducedSize: true });
  });

  it('reads a simulcast offer as RID encodings, lowest first', () => {
    const read = readWhipOffer(
      offer(['a=rtpmap:96 VP8/90000', 'a=rid:q send', 'a=rid:h send', 'a=rid:f send', 'a=simulcast:send q;h;~f']),
      EXTENSIONS,
    );
    expect(read.tracks[1]!.rids).toEqual(['q', 'h', 'f']);
    expect(read.tracks[1]!.rtpParameters.encodings).toEqual([{ rid: 'q' }, { rid: 'h' }, { rid: 'f' }]);
  });

  it('refuses codecs the rooms cannot carry, naming what was offered and what is accepted', () => {
    const h265 = offer([
      'a=rtpmap:98 H265/90000',
      'a=rtpmap:100 H264/90000',
      'a=fmtp:100 packetization-mode=1;profile-level-id=640032',
      'a=ssrc:5 cname:x',
    ]);
    expect(() => readWhipOffer(h265, EXTENSIONS)).toThrow(UnacceptableOfferError);
    expect(() => readWhipOffer(h265, EXTENSIONS)).toThrow(/offers H265, H264; this server accepts Opus audio, VP8 video and H.264/);
  });

  it('refuses an oversized, malformed or DTLS-less offer before building anything', () => {
    const huge = offer(H264_AND_VP8) + `a=x-padding:${'x'.repeat(MAX_SDP_BYTES)}\r\n`;
    expect(() => readWhipOffer(huge, EXTENSIONS)).toThrow(expect.objectContaining({ name: 'SdpError', tooLarge: true }));
    expect(() => parseSdp('hello')).toThrow(SdpError);
    expect(() => parseSdp('v=0\r\na=evil\u0000\r\n')).toThrow(SdpError);
    expect(() => readWhipOffer(offer(H264_AND_VP8).replaceAll(/a=fingerprint:.*\r\n/g, ''), EXTENSIONS)).toThrow(/fingerprint/);
  });

  it('knows constrained baseline H.264 by its profile-level-id', () => {
    expect(['42e01f', '42c01f', '4d801f', '58c01f', undefined].map(constrainedBaseline)).toEqual([true, true, true, true, true]);
    expect(['42001f', '4d001f', '640032', 'zz'].map(constrainedBaseline)).toEqual([false, false, false, false]);
  });
});

describe('WHIP answers', () => {
  const transport = {
    iceParameters: { usernameFragment: 'srvufrag', password: 'srvpassword', iceLite: true },
    iceCandidates: [
      {
        foundation: 'udpcandidate',
        priority: 1076558079,
        ip: '127.0.0.1',
        address: '127.0.0.1',
        protocol: 'udp' as const,
        port: 40000,
        type: 'host' as const,
      },
      {
        foundation: 'tcpcandidate',
        priority: 1076302079,
        ip: '127.0.0.1',
        address: '127.0.0.1',
        protocol: 'tcp' as const,
        port: 40000,
        type: 'host' as const,
        tcpType: 'passive' as const,
      },
    ],
    dtlsParameters: { role: 'auto' as const, fingerprints: [{ algorithm: 'sha-256' as const, value: 'AB:CD' }] },
  };

  it('answers ICE-lite, recvonly, with exactly the codecs taken, and rejects what it does not take', () => {
    const sdp =
      offer(['a=rtpmap:96 VP8/90000', 'a=ssrc:7 cname:x']).replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2') +
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n';
    const answer = whipAnswer(readWhipOffer(sdp, EXTENSIONS), transport, 1);
    const parsed = parseSdp(answer);
    expect(parsed.attributes.map((a) => a.name)).toEqual(expect.arrayContaining(['ice-lite', 'group', 'fingerprint']));
    expect(parsed.sections.map((s) => [s.media, s.port, s.formats.join(' ')])).toEqual([
      ['audio', 9, '111'],
      ['video', 9, '96'],
      ['application', 0, 'webrtc-datachannel'],
    ]);
    expect(answer).toContain('a=group:BUNDLE 0 1\r\n');
    expect(answer).toContain('a=setup:passive');
    expect(answer).toContain('a=candidate:tcpcandidate 1 tcp 1076302079 127.0.0.1 40000 typ host tcptype passive');
    expect(answer).not.toContain('PCMU');
  });
});
