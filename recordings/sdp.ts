/**
 * SDP that tells FFmpeg where RTP from a mediasoup PlainTransport arrives and how to depacketize it:
 * one media section per stream, each on its own loopback port pair (recorders: one; HLS: two).
 */
import type { types } from 'mediasoup';

export interface SdpStream {
  kind: types.MediaKind;
  codec: types.RtpCodecParameters;
  rtpPort: number;
  rtcpPort: number;
}

export function sdpMediaSection({ kind, codec, rtpPort, rtcpPort }: SdpStream): string[] {
  const [, encoding = ''] = codec.mimeType.split('/');
  const channels = kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
  return [
    `m=${kind} ${rtpPort} RTP/AVP ${codec.payloadType}`,
    `a=rtcp:${rtcpPort}`,
    `a=rtpmap:${codec.payloadType} ${encoding}/${codec.clockRate}${channels}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=recvonly',
  ];
}

export function sdpSession(name: string, streams: SdpStream[]): string {
  return ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', `s=${name}`, 'c=IN IP4 127.0.0.1', 't=0 0', ...streams.flatMap(sdpMediaSection), ''].join(
    '\n',
  );
}
