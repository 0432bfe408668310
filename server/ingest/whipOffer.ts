/**
 * What an encoder's WHIP offer asks for, in mediasoup's terms: per media section, the codec we take
 * (Opus audio; VP8 or H.264 constrained baseline video, in the encoder's order of preference), its
 * retransmission codec, the header extensions the routers understand, the encodings (one SSRC, or
 * the RIDs of a simulcast), and the DTLS/ICE parameters of the encoder. Anything the room cannot
 * carry is refused with a sentence naming what was offered and what is accepted.
 */
import type { types } from 'mediasoup';
import type { MediaKind, MediaSource } from '../../signaling/protocol/index.js';
import { attribute, attributes, hasFlag, parseFmtp, parseSdp, SdpError, type SdpDescription, type SdpSection } from './sdp.js';

export interface OfferedTrack {
  /** Index of the m= section (the answer keeps the offer's order). */
  index: number;
  mid: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: types.RtpParameters;
  /** RIDs received, lowest layer first; empty without simulcast. */
  rids: string[];
  /** The offer asked for reduced-size RTCP. */
  rtcpReducedSize: boolean;
}

export interface WhipOffer {
  sections: SdpSection[];
  tracks: OfferedTrack[];
  /** The encoder's DTLS role as mediasoup's `connect` wants it, and its certificate's fingerprint. */
  dtlsParameters: types.DtlsParameters;
  /** Our `a=setup` in the answer. */
  answerSetup: 'active' | 'passive';
  iceUfrag: string;
  icePwd: string;
}

/** The offer is valid SDP but asks for what this server does not take (codecs, layout). */
export class UnacceptableOfferError extends Error {
  override readonly name = 'UnacceptableOfferError';
}

const ACCEPTED = 'Opus audio, VP8 video and H.264 video (constrained baseline, packetization-mode 1)';
const FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);
const FINGERPRINT_ALGORITHMS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const SOURCES: Record<MediaKind, MediaSource[]> = { audio: ['microphone'], video: ['camera', 'screen'] };

interface RtpMap {
  payloadType: number;
  name: string;
  clockRate: number;
  channels: number | undefined;
  parameters: Record<string, string | number>;
}

/** Parses and interprets `sdp`; throws SdpError (malformed, too large) or UnacceptableOfferError. */
export function readWhipOffer(sdp: string, headerExtensions: types.RtpHeaderExtension[]): WhipOffer {
  const description = parseSdp(sdp);
  if (description.sections.length === 0) throw new UnacceptableOfferError('the offer has no media section');
  const fingerprint = sessionOrFirst(description, 'fingerprint');
  const [algorithm, value] = (fingerprint ?? '').split(' ');
  if (!algorithm || !value || !FINGERPRINT_ALGORITHMS.has(algorithm.toLowerCase()))
    throw new SdpError('the offer carries no usable a=fingerprint (DTLS is required)');
  const setup = sessionOrFirst(description, 'setup') ?? 'actpass';
  // actpass or active: the encoder is the DTLS client and we the server; passive: the other way round.
  const encoderIsServer = setup === 'passive';
  const iceUfrag = sessionOrFirst(description, 'ice-ufrag');
  const icePwd = sessionOrFirst(description, 'ice-pwd');
  if (!iceUfrag || !icePwd) throw new SdpError('the offer carries no a=ice-ufrag / a=ice-pwd');
  const used = new Map<MediaKind, number>();
  const tracks: OfferedTrack[] = [];
  for (const [index, section] of description.sections.entries()) {
    if (section.media !== 'audio' && section.media !== 'video') continue; // data channels: refused in the answer
    if (section.port === 0 || hasFlag(section, 'inactive') || hasFlag(section, 'recvonly')) continue;
    const kind = section.media;
    const source = SOURCES[kind][used.get(kind) ?? 0];
    if (!source) throw new UnacceptableOfferError(`a presenter sends at most ${SOURCES[kind].length} ${kind} track(s); the offer has more`);
    used.set(kind, (used.get(kind) ?? 0) + 1);
    tracks.push(readTrack(section, index, kind, source, headerExtensions));
  }
  if (tracks.length === 0) throw new UnacceptableOfferError('the offer sends no audio or video');
  if (!hasFlag(description.sections[tracks[0]!.index]!, 'rtcp-mux') && !description.attributes.some((a) => a.name === 'rtcp-mux'))
    throw new UnacceptableOfferError('RTP and RTCP must share one port (a=rtcp-mux)');
  return {
    sections: description.sections,
    tracks,
    dtlsParameters: {
      role: encoderIsServer ? 'server' : 'client',
      fingerprints: [{ algorithm: algorithm.toLowerCase() as types.FingerprintAlgorithm, value }],
    },
    answerSetup: encoderIsServer ? 'active' : 'passive',
    iceUfrag,
    icePwd,
  };
}

function sessionOrFirst(description: SdpDescription, name: string): string | undefined {
  const session = description.attributes.find((a) => a.name === name);
  if (session) return session.value ?? '';
  for (const section of description.sections) {
    const value = attribute(section, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

function readTrack(
  section: SdpSection,
  index: number,
  kind: MediaKind,
  source: MediaSource,
  supported: types.RtpHeaderExtension[],
): OfferedTrack {
  const mid = attribute(section, 'mid');
  if (!mid || !/^[A-Za-z0-9_.-]{1,32}$/.test(mid)) throw new SdpError(`media section ${index} has no valid a=mid`);
  const maps = rtpMaps(section);
  const codec = maps.find((m) => acceptable(kind, m));
  if (!codec) {
    const offered = [...new Set(maps.map((m) => m.name))].join(', ') || 'none';
    throw new UnacceptableOfferError(`the ${kind} section (mid ${mid}) offers ${offered}; this server accepts ${ACCEPTED}`);
  }
  const rtx = maps.find((m) => m.name.toLowerCase() === 'rtx' && m.parameters['apt'] === codec.payloadType);
  const codecs: types.RtpCodecParameters[] = [
    {
      mimeType: `${kind}/${codec.name}`,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      ...(codec.channels ? { channels: codec.channels } : {}),
      parameters: codec.parameters,
      rtcpFeedback: feedbackFor(section, codec.payloadType),
    },
  ];
  if (rtx)
    codecs.push({
      mimeType: `${kind}/rtx`,
      payloadType: rtx.payloadType,
      clockRate: rtx.clockRate,
      parameters: { apt: codec.payloadType },
    });
  const rids = simulcastRids(section);
  return {
    index,
    mid,
    kind,
    source,
    rids,
    rtcpReducedSize: hasFlag(section, 'rtcp-rsize'),
    rtpParameters: {
      mid,
      codecs,
      headerExtensions: headerExtensionsOf(section, kind, supported),
      encodings: rids.length > 0 ? rids.map((rid) => ({ rid })) : [singleEncoding(section, mid, rtx !== undefined)],
      rtcp: { cname: cnameOf(section) ?? `whip-${mid}`, reducedSize: hasFlag(section, 'rtcp-rsize') },
    },
  };
}

function rtpMaps(section: SdpSection): RtpMap[] {
  const fmtps = new Map<number, Record<string, string | number>>();
  for (const value of attributes(section, 'fmtp')) {
    const space = value.indexOf(' ');
    fmtps.set(Number(value.slice(0, space)), parseFmtp(value.slice(space + 1)));
  }
  return attributes(section, 'rtpmap').flatMap((value) => {
    const match = /^(\d{1,3}) ([A-Za-z0-9_.-]+)\/(\d+)(?:\/(\d+))?$/.exec(value);
    if (!match) return [];
    const payloadType = Number(match[1]);
    if (payloadType > 127) return [];
    const channels = match[4] ? Number(match[4]) : undefined;
    return [{ payloadType, name: match[2]!, clockRate: Number(match[3]), channels, parameters: fmtps.get(payloadType) ?? {} }];
  });
}

function acceptable(kind: MediaKind, map: RtpMap): boolean {
  const name = map.name.toLowerCase();
  if (kind === 'audio') return name === 'opus' && map.clockRate === 48000 && map.channels === 2;
  if (map.clockRate !== 90000) return false;
  if (name === 'vp8') return true;
  return (
    name === 'h264' && Number(map.parameters['packetization-mode'] ?? 0) === 1 && constrainedBaseline(map.parameters['profile-level-id'])
  );
}

/**
 * Whether an H.264 profile-level-id is the constrained baseline profile the routers carry (what every
 * WebRTC decoder takes): profile_idc 0x42 with constraint_set1, 0x4D with constraint_set0, or 0x58
 * with both (RFC 6184 §8.1), as mediasoup matches it.
 */
export function constrainedBaseline(profileLevelId: unknown): boolean {
  // Absent, mediasoup (like libwebrtc) takes constrained baseline level 3.1.
  const text = typeof profileLevelId === 'string' ? profileLevelId : '42e01f';
  if (!/^[0-9a-fA-F]{6}$/.test(text)) return false;
  const idc = parseInt(text.slice(0, 2), 16);
  const iop = parseInt(text.slice(2, 4), 16);
  if ((iop & 0x0f) !== 0) return false;
  if (idc === 0x42) return (iop & 0x40) !== 0;
  if (idc === 0x4d) return (iop & 0x80) !== 0;
  if (idc === 0x58) return (iop & 0xc0) === 0xc0;
  return false;
}

function feedbackFor(section: SdpSection, payloadType: number): types.RtcpFeedback[] {
  const out: types.RtcpFeedback[] = [];
  for (const value of attributes(section, 'rtcp-fb')) {
    const [pt, type, parameter] = value.split(' ');
    if (pt !== String(payloadType) && pt !== '*') continue;
    const key = parameter ? `${type} ${parameter}` : (type ?? '');
    if (!FEEDBACK.has(key) || out.some((f) => f.type === type && (f.parameter ?? '') === (parameter ?? ''))) continue;
    out.push(parameter ? { type: type!, parameter } : { type: type! });
  }
  return out;
}

/** Only the extensions the routers understand for this kind; the answer echoes the offer's ids. */
function headerExtensionsOf(
  section: SdpSection,
  kind: MediaKind,
  supported: types.RtpHeaderExtension[],
): types.RtpHeaderExtensionParameters[] {
  const uris = new Set(supported.filter((e) => e.kind === kind).map((e) => e.uri));
  return attributes(section, 'extmap').flatMap((value) => {
    const match = /^(\d{1,3})(?:\/\w+)? (\S+)/.exec(value);
    if (!match || !uris.has(match[2] as types.RtpHeaderExtensionUri)) return [];
    return [{ id: Number(match[1]), uri: match[2] as types.RtpHeaderExtensionUri, encrypt: false, parameters: {} }];
  });
}

/** RIDs of `a=simulcast:send`, lowest first as encoders list them; the first alternative of each. */
function simulcastRids(section: SdpSection): string[] {
  const simulcast = attribute(section, 'simulcast');
  if (!simulcast) return [];
  const match = /^send (\S+)/.exec(simulcast);
  if (!match) throw new UnacceptableOfferError('a=simulcast must list the RIDs the encoder sends (send ...)');
  const rids = match[1]!.split(';').map((alternatives) => alternatives.split(',')[0]!.replace(/^~/, ''));
  if (rids.length > 4 || rids.some((r) => !/^[A-Za-z0-9_-]{1,16}$/.test(r)))
    throw new SdpError('a=simulcast lists invalid or too many RIDs');
  return rids;
}

function singleEncoding(section: SdpSection, mid: string, withRtx: boolean): types.RtpEncodingParameters {
  const ssrcs = attributes(section, 'ssrc').map((v) => Number(v.split(' ')[0]));
  const ssrc = ssrcs.find((s) => Number.isInteger(s) && s > 0 && s <= 0xffffffff);
  if (ssrc === undefined) throw new UnacceptableOfferError(`the section mid ${mid} names no SSRC (a=ssrc) and no simulcast RIDs`);
  const fid = attributes(section, 'ssrc-group').find((g) => g.startsWith('FID '));
  const rtxSsrc = fid ? Number(fid.split(' ')[2]) : undefined;
  return withRtx && rtxSsrc ? { ssrc, rtx: { ssrc: rtxSsrc } } : { ssrc };
}

function cnameOf(section: SdpSection): string | undefined {
  for (const value of attributes(section, 'ssrc')) {
    const match = /^\d+ cname:(\S+)$/.exec(value);
    if (match) return match[1];
  }
  return undefined;
}
