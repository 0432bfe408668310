/**
 * werift's side of the viewer: the receive capabilities it announces to the router, and a peer
 * connection that stays on loopback — plus the guards that refuse a non-loopback signaling URL or
 * ICE candidate (the benchmark never lets its receivers reach off this machine).
 */
import type { RtpCapabilities, RtpCodecCapability } from 'mediasoup-client/types';
import { RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, useNACK, usePLI } from 'werift';
import type { TransportOptions } from '../../signaling/protocol/index.js';
import { isLoopback } from './recvSdp.js';
import type { MediaKind } from './viewerTypes.js';

const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';
/** What this receiver handles: Opus and VP8; NACK and PLI for video; the MID header extension. */
const SUPPORTED_MIME = ['audio/opus', 'video/vp8'];
const VIDEO_FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

/** The RTP capabilities werift can receive, in the router's own payload types and extension ids. */
export function viewerRtpCapabilities(router: RtpCapabilities): RtpCapabilities {
  const codecs: RtpCodecCapability[] = (router.codecs ?? [])
    .filter((c) => SUPPORTED_MIME.includes(c.mimeType.toLowerCase()))
    .map((c) => ({ ...c, rtcpFeedback: c.kind === 'video' ? VIDEO_FEEDBACK.map((f) => ({ ...f })) : [] }));
  const headerExtensions = (router.headerExtensions ?? [])
    .filter((e) => e.uri === MID_EXTENSION)
    .map((e) => ({ ...e, direction: 'sendrecv' as const }));
  return { codecs, headerExtensions };
}

export function assertLoopbackUrl(url: string, allowRemote: boolean): void {
  if (!allowRemote && !isLoopback(new URL(url).hostname)) throw new Error(`refusing non-loopback signaling URL ${url}`);
}

export function assertLoopbackCandidates(transport: TransportOptions, allowRemote: boolean): void {
  for (const c of transport.iceCandidates) {
    if (!allowRemote && !isLoopback(c.address ?? c.ip)) throw new Error(`refusing non-loopback ICE candidate ${c.address}`);
  }
}

/** A receive-only peer connection for `caps`, gathering and pairing on loopback only unless `allowRemote`. */
export function createPeerConnection(caps: RtpCapabilities, network: { stunUrl: string; allowRemote: boolean }): RTCPeerConnection {
  const codec = (kind: MediaKind) =>
    (caps.codecs ?? [])
      .filter((c) => c.kind === kind)
      .map(
        (c) =>
          new RTCRtpCodecParameters({
            mimeType: c.mimeType,
            clockRate: c.clockRate,
            payloadType: c.preferredPayloadType,
            ...(c.channels ? { channels: c.channels } : {}),
            rtcpFeedback: kind === 'video' ? [useNACK(), usePLI()] : [],
          }),
      );
  const ext = (kind: MediaKind) =>
    (caps.headerExtensions ?? [])
      .filter((e) => e.kind === kind)
      .map((e) => new RTCRtpHeaderExtensionParameters({ id: e.preferredId, uri: e.uri }));
  return new RTCPeerConnection({
    codecs: { audio: codec('audio'), video: codec('video') },
    headerExtensions: { audio: ext('audio'), video: ext('video') },
    // Loopback only: our own STUN responder (werift's fallback would be stun.l.google.com), no
    // interface addresses but 127.0.0.1, no IPv6, no TCP, and only pairs towards loopback.
    iceServers: [{ urls: network.stunUrl }],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceFilterCandidatePair: (pair) =>
      network.allowRemote || (isLoopback(pair.localCandidate.host) && isLoopback(pair.remoteCandidate.host)),
    bundlePolicy: 'max-bundle',
  });
}
