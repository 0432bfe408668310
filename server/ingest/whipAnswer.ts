/**
 * The SDP answer to a WHIP offer, from the mediasoup transport that receives it: ICE-lite, our ICE
 * credentials and candidates, our DTLS fingerprint, and per section exactly the codec, extensions and
 * RIDs we took (whipOffer.ts); sections we do not take are answered with port 0. Also the
 * `application/trickle-ice-sdpfrag` body of an ICE restart (RFC 8840).
 */
import type { types } from 'mediasoup';
import { writeSdp, type SdpSection } from './sdp.js';
import type { OfferedTrack, WhipOffer } from './whipOffer.js';

export interface AnswerTransport {
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export function whipAnswer(offer: WhipOffer, transport: AnswerTransport, sessionVersion: number): string {
  const fingerprint =
    transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('the transport has no DTLS fingerprint');
  const accepted = new Map(offer.tracks.map((t) => [t.index, t]));
  const lines = [
    'v=0',
    `o=- ${Date.now()} ${sessionVersion} IN IP4 127.0.0.1`,
    's=telemed-sfu WHIP',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${offer.tracks.map((t) => t.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
  ];
  for (const [index, section] of offer.sections.entries()) {
    const track = accepted.get(index);
    if (track) lines.push(...acceptedSection(track, offer, transport));
    else lines.push(...rejectedSection(section));
  }
  return writeSdp(lines);
}

function acceptedSection(track: OfferedTrack, offer: WhipOffer, transport: AnswerTransport): string[] {
  const { rtpParameters } = track;
  const lines = [
    `m=${track.kind} 9 UDP/TLS/RTP/SAVPF ${rtpParameters.codecs.map((c) => c.payloadType).join(' ')}`,
    'c=IN IP4 0.0.0.0',
    ...iceLines(transport.iceParameters),
    `a=setup:${offer.answerSetup}`,
    `a=mid:${track.mid}`,
    'a=recvonly',
    'a=rtcp-mux',
    ...(track.rtcpReducedSize ? ['a=rtcp-rsize'] : []),
  ];
  for (const codec of rtpParameters.codecs) {
    const [, name] = codec.mimeType.split('/');
    lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`);
    const fmtp = Object.entries(codec.parameters ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(';');
    if (fmtp) lines.push(`a=fmtp:${codec.payloadType} ${fmtp}`);
    for (const fb of codec.rtcpFeedback ?? [])
      lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
  }
  for (const ext of rtpParameters.headerExtensions ?? []) lines.push(`a=extmap:${ext.id} ${ext.uri}`);
  if (track.rids.length > 0) {
    for (const rid of track.rids) lines.push(`a=rid:${rid} recv`);
    lines.push(`a=simulcast:recv ${track.rids.join(';')}`);
  }
  lines.push(...candidateLines(transport.iceCandidates), 'a=end-of-candidates');
  return lines;
}

function rejectedSection(section: SdpSection): string[] {
  const mid = section.attributes.find((a) => a.name === 'mid')?.value;
  return [
    `m=${section.media} 0 ${section.protocol} ${section.formats.join(' ')}`,
    'c=IN IP4 0.0.0.0',
    ...(mid ? [`a=mid:${mid}`] : []),
    'a=inactive',
  ];
}

function iceLines(ice: types.IceParameters): string[] {
  return [`a=ice-ufrag:${ice.usernameFragment}`, `a=ice-pwd:${ice.password}`];
}

function candidateLines(candidates: types.IceCandidate[]): string[] {
  return candidates.map(
    (c) =>
      `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}` +
      (c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : ''),
  );
}

/** The body answering an ICE restart: our new credentials and candidates, for the first (bundled) mid. */
export function iceRestartFragment(
  first: Pick<OfferedTrack, 'mid' | 'kind'>,
  ice: types.IceParameters,
  candidates: types.IceCandidate[],
): string {
  return writeSdp([
    'a=ice-lite',
    ...iceLines(ice),
    `m=${first.kind} 9 UDP/TLS/RTP/SAVPF 0`,
    `a=mid:${first.mid}`,
    ...candidateLines(candidates),
    'a=end-of-candidates',
  ]);
}
