/**
 * The yardstick for `bench/steady-state.ts`: a minimal mediasoup SFU with nothing but forwarding —
 * one worker, one router with the product's codecs, one WebRtcServer port, and just enough of the
 * product's signaling (same request names and acks over Socket.IO) that the same SDK page and the
 * same werift viewers work against it unchanged. No auth, rooms, roles, audit, recording, quality
 * sampling, active speaker or limits: what the product costs above this is its orchestration.
 *
 *   node --import tsx bench/lib/rawSfu.ts   (env RAW_HTTP_PORT, RAW_MEDIA_PORT; prints "ready <port>")
 */
import { createServer } from 'node:http';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { Server, type Socket } from 'socket.io';
import { MEDIA_CODECS } from '../../server/media/codecs.js';

const httpPort = Number(process.env['RAW_HTTP_PORT'] ?? 0);
const mediaPort = Number(process.env['RAW_MEDIA_PORT'] ?? 0);

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const listen = { ip: '127.0.0.1', announcedAddress: '127.0.0.1', port: mediaPort };
const webRtcServer = await worker.createWebRtcServer({
  listenInfos: [
    { ...listen, protocol: 'udp' },
    { ...listen, protocol: 'tcp' },
  ],
});
const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });

interface Peer {
  id: string;
  socket: Socket;
  caps?: types.RtpCapabilities;
  transports: Map<string, types.WebRtcTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
}
const peers = new Map<string, Peer>();
const producerInfo = (owner: Peer, p: types.Producer) => ({
  id: p.id,
  participantId: owner.id,
  kind: p.kind,
  source: (p.appData as { source: string }).source,
  paused: p.paused,
});
const participant = (p: Peer) => ({
  id: p.id,
  identity: p.id,
  displayName: p.id,
  role: 'specialist',
  site: { id: 's', name: 's', level: 'county_hospital' },
});

type Handler = (peer: Peer, payload: Record<string, unknown>) => Promise<unknown> | unknown;
const handlers: Record<string, Handler> = {
  getRouterRtpCapabilities: () => ({ rtpCapabilities: router.rtpCapabilities }),
  join: (peer, { rtpCapabilities }) => {
    peer.caps = rtpCapabilities as types.RtpCapabilities;
    const others = [...peers.values()].filter((p) => p !== peer);
    return {
      status: 'joined',
      room: { id: 'raw', kind: 'broadcast', caseId: null },
      self: participant(peer),
      permissions: ['publish_audio', 'publish_video'],
      participants: others.map(participant),
      producers: others.flatMap((o) => [...o.producers.values()].map((p) => producerInfo(o, p))),
      activeSpeakerId: null,
      roomLocked: false,
      raisedHands: [],
      lineQuality: [],
      mutedByModerator: [],
      chat: [],
      chatHasMore: false,
      questions: [],
      onStage: [],
      viewerCount: 0,
      hlsUrl: null,
      recording: null,
      resumeToken: 'raw',
      reconnectGraceSeconds: 0,
    };
  },
  createTransport: async (peer, { forceTcp }) => {
    const t = await router.createWebRtcTransport({
      webRtcServer,
      enableUdp: forceTcp !== true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    peer.transports.set(t.id, t);
    const { id, iceParameters, iceCandidates, dtlsParameters } = t;
    return { id, iceServers: [], iceParameters, iceCandidates, dtlsParameters };
  },
  connectTransport: async (peer, { transportId, dtlsParameters }) => {
    await peer.transports.get(transportId as string)!.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
    return {};
  },
  produce: async (peer, { transportId, kind, rtpParameters, source }) => {
    const transport = peer.transports.get(transportId as string)!;
    const p = await transport.produce({
      kind: kind as types.MediaKind,
      rtpParameters: rtpParameters as types.RtpParameters,
      appData: { source },
    });
    peer.producers.set(p.id, p);
    for (const other of peers.values()) if (other !== peer) other.socket.emit('producerAdded', { producer: producerInfo(peer, p) });
    return { producerId: p.id };
  },
  consume: async (peer, { producerId, transportId }) => {
    const transport = peer.transports.get(transportId as string)!;
    const c = await transport.consume({ producerId: producerId as string, rtpCapabilities: peer.caps!, paused: true });
    peer.consumers.set(c.id, c);
    const owner = [...peers.values()].find((p) => p.producers.has(producerId as string))!;
    const source = (owner.producers.get(producerId as string)!.appData as { source: string }).source;
    return {
      id: c.id,
      producerId,
      participantId: owner.id,
      kind: c.kind,
      source,
      rtpParameters: c.rtpParameters,
      producerPaused: c.producerPaused,
    };
  },
  resumeConsumer: async (peer, { consumerId }) => {
    await peer.consumers.get(consumerId as string)!.resume();
    return {};
  },
  leave: (peer) => {
    peer.socket.disconnect(true);
    return {};
  },
};

const http = createServer();
const io = new Server(http, { cors: { origin: true } });
let next = 0;
io.on('connection', (socket) => {
  const peer: Peer = { id: `raw-${++next}`, socket, transports: new Map(), producers: new Map(), consumers: new Map() };
  peers.set(peer.id, peer);
  socket.onAny((name: string, payload: Record<string, unknown>, ack?: (r: unknown) => void) => {
    const handler = handlers[name];
    if (!handler || typeof ack !== 'function')
      return ack?.({ ok: false, error: { code: 'BAD_REQUEST', message: `not in the raw SFU: ${name}` } });
    Promise.resolve()
      .then(() => handler(peer, payload ?? {}))
      .then(
        (data) => ack({ ok: true, data }),
        (e: Error) => ack({ ok: false, error: { code: 'INTERNAL', message: e.message } }),
      );
  });
  socket.on('disconnect', () => {
    peers.delete(peer.id);
    for (const t of peer.transports.values()) t.close();
  });
});
http.listen(httpPort, '127.0.0.1', () => {
  const address = http.address();
  console.log(`ready ${typeof address === 'object' && address ? address.port : httpPort}`);
});
const stop = () => {
  void io.close();
  worker.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
