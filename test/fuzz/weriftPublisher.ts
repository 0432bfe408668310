/**
 * A real camera publisher without a browser: FFmpeg renders a VP8 test pattern as RTP to a UDP
 * socket of this process, and werift (a WebRTC stack in plain Node) sends it over ICE, DTLS and SRTP
 * into a mediasoup send transport created through the room's signaling — join, createTransport,
 * connectTransport, produce — exactly the requests a browser's SDK makes. werift rewrites SSRC,
 * payload type and the MID header extension to what was negotiated; FFmpeg makes a key frame every
 * few frames, so no key-frame request has to reach it.
 *
 * Loopback only: werift is pointed at the loopback STUN responder and pairs 127.0.0.1 candidates only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import type { RtpCapabilities } from 'mediasoup-client/types';
import { MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { loopbackStunUrl } from '../../bench/lib/loopbackStun.js';
import { dtlsFromAnswer } from '../../bench/lib/recvSdp.js';
import { createPeerConnection, viewerRtpCapabilities } from '../../bench/lib/viewerPeer.js';
import type { TransportOptions, WireRtpParameters } from '../../signaling/protocol/index.js';
import { connect, ok, type TestClient } from '../helpers/signalingClient.js';

const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';

export interface WeriftPublisher {
  client: TestClient;
  producerId: string;
  /** RTP packets FFmpeg has handed to werift so far. */
  readonly packetsIn: number;
  close(): Promise<void>;
}

/** The SDP answer of a mediasoup receive side (ICE-lite, DTLS server) to werift's one-video offer. */
function answerFor(
  offer: string,
  transport: TransportOptions,
  codec: { payloadType: number; clockRate: number },
  midExtId: number,
): string {
  const mid = /^a=mid:(\S+)/m.exec(offer)?.[1];
  if (!mid) throw new Error('werift offer has no mid');
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  return (
    [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      `a=group:BUNDLE ${mid}`,
      `m=video 7 UDP/TLS/RTP/SAVPF ${codec.payloadType}`,
      'c=IN IP4 127.0.0.1',
      `a=mid:${mid}`,
      'a=recvonly',
      `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
      `a=ice-pwd:${transport.iceParameters.password}`,
      `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
      // mediasoup waits for DTLS (server); werift opens it.
      'a=setup:passive',
      ...transport.iceCandidates
        .filter((c) => c.protocol === 'udp')
        .map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address ?? c.ip} ${c.port} typ host`),
      'a=end-of-candidates',
      'a=rtcp-mux',
      'a=rtcp-rsize',
      `a=rtpmap:${codec.payloadType} VP8/${codec.clockRate}`,
      `a=rtcp-fb:${codec.payloadType} nack`,
      `a=rtcp-fb:${codec.payloadType} nack pli`,
      `a=extmap:${midExtId} ${MID_EXTENSION}`,
    ].join('\r\n') + '\r\n'
  );
}

/** Starts FFmpeg's VP8 test pattern, as RTP, towards a UDP socket on 127.0.0.1; every packet goes to `onPacket`. */
async function ffmpegVp8(onPacket: (packet: Buffer) => void): Promise<{ process: ChildProcess; socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', onPacket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const child = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15'],
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-g', '5', '-payload_type', '101'],
      ...['-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=1200`],
    ],
    { stdio: 'ignore' },
  );
  return { process: child, socket };
}

/** Joins `token`'s room and publishes FFmpeg's test pattern as the participant's camera. */
export async function publishTestPattern(url: string, token: string): Promise<WeriftPublisher> {
  const client = await connect(url, token);
  let pc: RTCPeerConnection | undefined;
  let media: { process: ChildProcess; socket: dgram.Socket } | undefined;
  let packetsIn = 0;
  const close = async (): Promise<void> => {
    media?.process.kill('SIGKILL');
    media?.socket.close();
    client.close();
    await pc?.close().catch(() => undefined);
  };
  try {
    const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
    const joined = ok(await client.request('join', { rtpCapabilities }));
    if (joined.status !== 'joined') throw new Error('the publisher was sent to the lobby');
    const caps = viewerRtpCapabilities(rtpCapabilities as RtpCapabilities);
    const vp8 = caps.codecs!.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
    const midExt = caps.headerExtensions!.find((e) => e.kind === 'video' && e.uri === MID_EXTENSION)!;
    pc = createPeerConnection(caps, { stunUrl: await loopbackStunUrl(), allowRemote: false });
    const track = new MediaStreamTrack({ kind: 'video' });
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);

    const transport = ok(await client.request('createTransport', { direction: 'send' }));
    const codec = { payloadType: vp8.preferredPayloadType!, clockRate: vp8.clockRate };
    await pc.setRemoteDescription({ type: 'answer', sdp: answerFor(pc.localDescription!.sdp, transport, codec, midExt.preferredId) });
    // werift's offer says actpass; the answer made it the DTLS client.
    const { fingerprints } = dtlsFromAnswer(pc.localDescription!.sdp);
    ok(await client.request('connectTransport', { transportId: transport.id, dtlsParameters: { role: 'client', fingerprints } }));

    const rtpParameters: WireRtpParameters = {
      mid: transceiver.mid!,
      codecs: [
        {
          mimeType: 'video/VP8',
          payloadType: codec.payloadType,
          clockRate: codec.clockRate,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        },
      ],
      headerExtensions: [{ uri: MID_EXTENSION, id: midExt.preferredId }],
      encodings: [{ ssrc: transceiver.sender.ssrc }],
      rtcp: { cname: 'fuzz-publisher', reducedSize: true },
    };
    const { producerId } = ok(
      await client.request('produce', { transportId: transport.id, kind: 'video', source: 'camera', rtpParameters }),
    );
    media = await ffmpegVp8((packet) => {
      packetsIn++;
      track.writeRtp(packet);
    });
    return {
      client,
      producerId,
      get packetsIn() {
        return packetsIn;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
