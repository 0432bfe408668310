/**
 * The remote SDP offer a receive-only WebRTC peer needs from a mediasoup receive transport: ICE-lite,
 * BUNDLE, one send-only m-section per consumer (mid, codec, rtcp-fb, header extensions, SSRC, cname),
 * the transport's ICE credentials, candidates and DTLS fingerprint with `a=setup:actpass`. What
 * mediasoup-client's RemoteSdp does for browsers, for one codec per m-section and no RTX.
 */
import type { RtpParameters } from 'mediasoup-client/types';
import type { TransportOptions } from '../../signaling/protocol/index.js';

export interface OfferSection {
  kind: 'audio' | 'video';
  rtpParameters: RtpParameters;
  /** A closed consumer keeps its m-section (mids are never reused) but sends nothing. */
  closed: boolean;
  /** msid stream id (e.g. the sending participant) and track id (the consumer). */
  streamId: string;
  trackId: string;
}

export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1' || address === 'localhost';
}

function fmtp(parameters: Record<string, unknown> | undefined): string | undefined {
  const entries = Object.entries(parameters ?? {}).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(';') : undefined;
}

/**
 * Builds the offer. Throws if the transport offers a non-loopback candidate when `loopbackOnly`
 * (the benchmark never lets its receivers reach off this machine).
 */
export function buildRecvOffer(
  transport: Pick<TransportOptions, 'iceParameters' | 'iceCandidates' | 'dtlsParameters'>,
  sections: readonly OfferSection[],
  session: { id: string; version: number; loopbackOnly: boolean },
): string {
  const fingerprint =
    transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('transport has no DTLS fingerprint');
  const candidates = transport.iceCandidates.map((c) => {
    const address = c.address ?? c.ip;
    if (session.loopbackOnly && !isLoopback(address)) throw new Error(`refusing non-loopback ICE candidate ${address}`);
    const tcpType = c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : '';
    return `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${address} ${c.port} typ host${tcpType}`;
  });
  const mids = sections.map((s) => s.rtpParameters.mid!);
  const lines = [
    'v=0',
    `o=- ${session.id} ${session.version} IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  for (const section of sections) {
    const { rtpParameters: rtp } = section;
    if (!rtp.mid) throw new Error('consumer RTP parameters carry no mid');
    const codecs = rtp.codecs.filter((c) => !/\/rtx$/i.test(c.mimeType));
    lines.push(
      `m=${section.kind} 7 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`,
      'c=IN IP4 127.0.0.1',
      `a=mid:${rtp.mid}`,
      section.closed ? 'a=inactive' : 'a=sendonly',
      `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
      `a=ice-pwd:${transport.iceParameters.password}`,
      `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
      'a=setup:actpass',
      ...candidates,
      'a=end-of-candidates',
      'a=rtcp-mux',
    );
    if (rtp.rtcp?.reducedSize) lines.push('a=rtcp-rsize');
    for (const codec of codecs) {
      const [, name] = codec.mimeType.split('/');
      lines.push(
        `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`,
      );
      const params = fmtp(codec.parameters as Record<string, unknown> | undefined);
      if (params) lines.push(`a=fmtp:${codec.payloadType} ${params}`);
      for (const fb of codec.rtcpFeedback ?? [])
        lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
    }
    for (const ext of rtp.headerExtensions ?? []) lines.push(`a=extmap:${ext.id} ${ext.uri}`);
    const ssrc = rtp.encodings?.[0]?.ssrc;
    if (!section.closed && ssrc !== undefined) {
      const cname = rtp.rtcp?.cname ?? section.streamId;
      lines.push(
        `a=msid:${section.streamId} ${section.trackId}`,
        `a=ssrc:${ssrc} cname:${cname}`,
        `a=ssrc:${ssrc} msid:${section.streamId} ${section.trackId}`,
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The DTLS fingerprint and role (as mediasoup's `connect` wants the remote one) from a local answer. */
export function dtlsFromAnswer(sdp: string): {
  role: 'client' | 'server';
  fingerprints: { algorithm: 'sha-256' | 'sha-1' | 'sha-384' | 'sha-512' | 'sha-224'; value: string }[];
} {
  const fp = /^a=fingerprint:(sha-(?:1|224|256|384|512)) (\S+)/m.exec(sdp);
  const setup = /^a=setup:(\w+)/m.exec(sdp);
  if (!fp) throw new Error('answer has no DTLS fingerprint');
  // The answerer picked its side of actpass: active = it opens DTLS (client), passive = it waits.
  const role = setup?.[1] === 'passive' ? 'server' : 'client';
  return { role, fingerprints: [{ algorithm: fp[1] as 'sha-256', value: fp[2]! }] };
}
