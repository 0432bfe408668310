/**
 * SDP that tells FFmpeg where RTP from a mediasoup PlainTransport arrives and how to depacketize it:
 * one media section per stream, each on its own loopback port pair (recorders: one; HLS: two).
 *
 * Codec names and parameters come from what a client published. The signaling edge refuses control
 * characters in them; this file refuses them again, so no value can end its line and start one of
 * its own (an extra `m=` section would make FFmpeg listen on a port of the client's choosing).
 */
import type { types } from 'mediasoup';

export interface SdpStream {
  kind: types.MediaKind;
  codec: types.RtpCodecParameters;
  rtpPort: number;
  rtcpPort: number;
}

/** C0 and C1 controls (CR, LF, NUL, DEL...) and the Unicode line and paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** An fmtp parameter name: nothing that could be read as a separator (`;`, `=`, space). */
const FMTP_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Thrown when a value would not stay on its SDP line; nothing is written. */
export class UnsafeSdpValueError extends Error {
  override readonly name = 'UnsafeSdpValueError';
}

function safe(what: string, value: string): string {
  if (CONTROL.test(value))
    throw new UnsafeSdpValueError(`refusing to write ${what} with a control character into SDP: ${JSON.stringify(value)}`);
  return value;
}

function fmtpOf(parameters: Record<string, unknown>): string {
  return Object.entries(parameters)
    .map(([key, value]) => {
      if (!FMTP_KEY.test(key)) throw new UnsafeSdpValueError(`refusing to write the fmtp parameter name ${JSON.stringify(key)} into SDP`);
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new UnsafeSdpValueError(`refusing to write the fmtp parameter ${key} of type ${typeof value} into SDP`);
      const text = safe(`the fmtp parameter ${key}`, String(value));
      if (text.includes(';')) throw new UnsafeSdpValueError(`refusing to write the fmtp parameter ${key} with a ';' into SDP`);
      return `${key}=${text}`;
    })
    .join(';');
}

export function sdpMediaSection({ kind, codec, rtpPort, rtcpPort }: SdpStream): string[] {
  const [, encoding = ''] = safe('the codec name', codec.mimeType).split('/');
  const channels = kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
  const fmtp = fmtpOf((codec.parameters ?? {}) as Record<string, unknown>);
  return [
    `m=${kind} ${rtpPort} RTP/AVP ${codec.payloadType}`,
    `a=rtcp:${rtcpPort}`,
    `a=rtpmap:${codec.payloadType} ${encoding}/${codec.clockRate}${channels}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=recvonly',
  ].map((line) => safe('a line', line));
}

export function sdpSession(name: string, streams: SdpStream[]): string {
  const header = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', `s=${safe('the session name', name)}`, 'c=IN IP4 127.0.0.1', 't=0 0'];
  return [...header, ...streams.flatMap(sdpMediaSection), ''].join('\n');
}
