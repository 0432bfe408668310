/**
 * The origin's side of one edge link (one room, one edge node): the origin's half of the pipe
 * (a PipeTransport on the room's router, SRTP and RTX on), the producers piped through it on the
 * edge's demand with their pause/resume/close relayed, and the edge's viewers as participants of the
 * room here. Each edge viewer is a Session of this room like a local viewer's, except that its
 * channel is the link: its non-media requests go through the same dispatcher (state gate, schema,
 * permission gate, handler), so the viewer count, Q&A, hands and the audit trail are the whole room's,
 * and whatever the room tells it is relayed to the edge. Its media lives on the edge.
 */
import type { types } from 'mediasoup';
import type { Socket } from 'socket.io';
import {
  EdgeLinkRequestSchemas,
  forbidden,
  notFound,
  ProtocolError,
  publishPermission,
  badRequest,
  wrongState,
  type Ack,
  type EdgeLinkRequestName,
  type EdgeLinkRequests,
  type EdgeLinkResponses,
  type EdgeToOriginEvents,
  type NotificationName,
  type OriginToEdgeEvents,
  type PipeEndpoint,
  type PipedProducer,
  type RequestName,
  type WireRtpParameters,
} from '../../../signaling/protocol/index.js';
import type { Principal, TokenVerifier } from '../../auth/TokenVerifier.js';
import type { Logger } from '../../logger.js';
import type { ParticipantChannel } from '../../rooms/Participant.js';
import type { ProducerAppData, Room } from '../../rooms/Room.js';
import type { RoomRegistry } from '../../rooms/RoomRegistry.js';
import { dispatch, toProtocolError, type HandlerContext, type SignalingServices } from '../../signaling/dispatcher.js';
import { HANDLERS } from '../../signaling/handlers/index.js';
import { Session } from '../../signaling/Session.js';
import { isAudience } from './seats.js';

export type LinkSocket = Socket<EdgeToOriginEvents, OriginToEdgeEvents>;

/** Requests an edge answers itself (its viewers' media lives there); never forwarded. */
export const EDGE_LOCAL_REQUESTS: ReadonlySet<RequestName> = new Set<RequestName>([
  'getRouterRtpCapabilities',
  'createTransport',
  'connectTransport',
  'restartIce',
  'closeTransport',
  'produce',
  'consume',
  'resumeConsumer',
  'pauseConsumer',
  'setPreferredLayers',
  'resume',
]);

export interface OriginLinkDeps {
  verifier: TokenVerifier;
  rooms: RoomRegistry;
  services: SignalingServices;
  requestTimeoutMs: number | undefined;
  /** Where this node's PipeTransports listen (its internal media address). */
  pipeListen: { ip: string; announcedAddress: string | undefined };
  /** A viewer arrived on an edge (placement stops counting it as on its way there). */
  viewerArrived(roomId: string, edgeNodeId: string): void;
  log: Logger;
}

interface EdgeViewer {
  session: Session;
  ctx: HandlerContext;
}

export class OriginLink {
  readonly edgeNodeId: string;
  readonly room: Room;
  readonly #socket: LinkSocket;
  readonly #deps: OriginLinkDeps;
  readonly #log: Logger;
  readonly #viewers = new Map<string, EdgeViewer>();
  readonly #pipeConsumers = new Map<string, types.Consumer>();
  /** Producers that came from the edge over this pipe (its viewers on stage): they live there already. */
  readonly #fromEdge = new Set<string>();
  #pipe: types.PipeTransport | undefined;
  /** Notifications of this tick, grouped while consecutive ones carry the same payload (see #relay). */
  #batch: { name: NotificationName; payload: unknown; viewerIds: string[] }[] = [];
  #closed = false;

  constructor(socket: LinkSocket, room: Room, edgeNodeId: string, deps: OriginLinkDeps) {
    this.#socket = socket;
    this.room = room;
    this.edgeNodeId = edgeNodeId;
    this.#deps = deps;
    this.#log = deps.log.child({ room: room.id, edge: edgeNodeId });
    this.#on('openPipe', (endpoint) => this.#openPipe(endpoint));
    this.#on('pipeProducer', ({ producerId }) => this.#pipeProducer(producerId));
    this.#on('viewerOpen', ({ viewerId, token }) => this.#viewerOpen(viewerId, token));
    this.#on('viewerRequest', ({ viewerId, name, payload }) => this.#viewerRequest(viewerId, name, payload));
    this.#on('stageProduce', (request) => this.#stageProduce(request));
    this.#on('viewerClose', ({ viewerId }) => {
      this.#viewerClose(viewerId);
      return {};
    });
    socket.on('disconnect', () => this.close());
    // The room closing ends every viewer of it (their channels say so); then the link has no purpose.
    room.once('closed', () => setTimeout(() => socket.disconnect(true), 200).unref());
  }

  /** Producers piped to the edge now. */
  get piped(): number {
    return this.#pipeConsumers.size;
  }

  /** Viewers of this room hosted on the edge (joined or waiting here). */
  get viewers(): number {
    return this.#viewers.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The edge is gone (or its room there closed): its viewers left; they rejoin through the entry.
    for (const viewerId of [...this.#viewers.keys()]) this.#viewerClose(viewerId);
    this.#pipe?.close();
    this.#socket.disconnect(true);
    this.#log.info('edge link closed');
  }

  /** Every request is validated like a client's, answered with an Ack, and never throws past here. */
  #on<N extends EdgeLinkRequestName>(
    name: N,
    run: (payload: EdgeLinkRequests[N]) => Promise<EdgeLinkResponses[N]> | EdgeLinkResponses[N],
  ): void {
    const on = this.#socket.on.bind(this.#socket) as (event: string, listener: (...args: unknown[]) => void) => void;
    on(name, (raw: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const answer = ack as (response: Ack<EdgeLinkResponses[N]>) => void;
      void (async () => {
        const parsed = EdgeLinkRequestSchemas[name].safeParse(raw);
        if (!parsed.success) throw badRequest(`invalid edge link "${name}" message`);
        return run(parsed.data as EdgeLinkRequests[N]);
      })().then(
        (data) => answer({ ok: true, data }),
        (error: unknown) => answer({ ok: false, error: toProtocolError(error, `edge:${name}`, this.#log).toWire() }),
      );
    });
  }

  async #openPipe(remote: PipeEndpoint): Promise<PipeEndpoint> {
    if (this.#pipe) throw new ProtocolError('WRONG_STATE', 'this link has its pipe already');
    const { ip, announcedAddress } = this.#deps.pipeListen;
    const pipe = await this.room.router.createPipeTransport({
      listenInfo: { protocol: 'udp', ip, ...(announcedAddress ? { announcedAddress } : {}) },
      enableSrtp: true,
      enableRtx: true,
    });
    this.#pipe = pipe;
    if (this.#closed) pipe.close();
    await pipe.connect({ ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters });
    return { ip: announcedAddress ?? pipe.tuple.localAddress ?? ip, port: pipe.tuple.localPort, srtpParameters: pipe.srtpParameters! };
  }

  /** Pipes one of the room's producers to the edge; its pause, resume and close follow it there. */
  async #pipeProducer(producerId: string): Promise<PipedProducer> {
    const pipe = this.#pipe;
    if (!pipe || pipe.closed) throw new ProtocolError('WRONG_STATE', 'open the pipe first');
    if (this.#pipeConsumers.has(producerId)) throw new ProtocolError('WRONG_STATE', `producer ${producerId} is piped already`);
    // Piped back, it would loop through the pipe and clash with itself on the edge's feed router.
    if (this.#fromEdge.has(producerId)) throw new ProtocolError('WRONG_STATE', `producer ${producerId} comes from this edge`);
    const found = this.room.findProducer(producerId);
    if (!found) throw notFound(`producer ${producerId} is not in this room (it may have just closed)`);
    const consumer = await pipe.consume({ producerId });
    this.#pipeConsumers.set(producerId, consumer);
    const tell = (state: 'paused' | 'resumed' | 'closed') => this.#socket.emit('producerState', { producerId, state });
    consumer.on('producerpause', () => tell('paused'));
    consumer.on('producerresume', () => tell('resumed'));
    consumer.observer.once('close', () => {
      this.#pipeConsumers.delete(producerId);
      if (!this.#closed) tell('closed');
    });
    const appData = found.track.producer.appData as ProducerAppData;
    return {
      producerId,
      participantId: appData.participantId,
      kind: consumer.kind,
      source: found.track.source,
      rtpParameters: consumer.rtpParameters as WireRtpParameters,
      paused: consumer.producerPaused,
    };
  }

  /**
   * An edge viewer on stage published on its edge: produced here from the pipe, under its id, as the
   * viewer's own, by the same rules as any participant's produce (permission, source, moderator
   * mute). Closed here (off stage, stopped by a moderator, closed by the viewer): the edge is told.
   */
  async #stageProduce(request: EdgeLinkRequests['stageProduce']): Promise<{ producerId: string }> {
    const { viewerId, producerId, kind, source, rtpParameters, paused } = request;
    const pipe = this.#pipe;
    if (!pipe || pipe.closed) throw new ProtocolError('WRONG_STATE', 'open the pipe first');
    const session = this.#viewers.get(viewerId)?.session;
    const current = session?.current;
    if (!current || session.state !== 'joined') throw wrongState('join the room first');
    const me = current.participant;
    if (!me.can(publishPermission(source))) throw forbidden(`a ${me.info.role} may not publish ${source} here unless on stage`);
    const producer = await current.room.media.publishFrom(me, kind, source, (appData) =>
      pipe.produce<ProducerAppData>({ id: producerId, kind, rtpParameters: rtpParameters as types.RtpParameters, paused, appData }),
    );
    this.#fromEdge.add(producerId);
    producer.observer.once('close', () => {
      this.#fromEdge.delete(producerId);
      if (!this.#closed) this.#socket.emit('producerState', { producerId, state: 'closed' });
    });
    // It lives on the pipe, not on a transport of the participant's: it goes when they do.
    me.once('closed', () => producer.close());
    return { producerId: producer.id };
  }

  #viewerOpen(viewerId: string, token: string): Record<string, never> {
    if (this.#viewers.has(viewerId)) throw new ProtocolError('WRONG_STATE', 'this viewer is open already');
    // The edge verified it already; the origin does again: its room, its rules.
    const principal: Principal = this.#deps.verifier.verify(token);
    if (principal.room !== this.room.id) throw new ProtocolError('FORBIDDEN', 'this viewer is for another room');
    if (!isAudience(principal.kind, principal.role)) throw new ProtocolError('FORBIDDEN', 'only the audience is hosted on edge nodes');
    const channel = this.#channelOf(viewerId);
    const session = new Session(principal, channel);
    const { rooms, services, requestTimeoutMs } = this.#deps;
    const log = this.#log.child({ viewer: viewerId });
    this.#viewers.set(viewerId, { session, ctx: { session, channel, rooms, services, log, requestTimeoutMs } });
    this.#deps.viewerArrived(this.room.id, this.edgeNodeId);
    return {};
  }

  async #viewerRequest(viewerId: string, name: RequestName, payload: unknown): Promise<Ack<unknown>> {
    const viewer = this.#viewers.get(viewerId);
    if (!viewer) throw notFound('no such viewer on this link');
    if (EDGE_LOCAL_REQUESTS.has(name)) throw badRequest(`${name} is answered by the edge`);
    // A viewer who leaves stays known to the link (its connection may join again) until viewerClose.
    return dispatch(HANDLERS, viewer.ctx, name, payload);
  }

  #viewerClose(viewerId: string): void {
    const viewer = this.#viewers.get(viewerId);
    if (!viewer) return;
    this.#viewers.delete(viewerId);
    const current = viewer.session.current;
    if (current) current.room.connectionLost(current.participant, true);
  }

  /** How the room reaches an edge viewer: over the link, batched per tick. */
  #channelOf(viewerId: string): ParticipantChannel {
    return {
      notify: (name, payload) => this.#relay(viewerId, name, payload),
      end: (reason, message) => {
        this.#flush();
        this.#viewers.delete(viewerId);
        if (!this.#closed) this.#socket.emit('viewerEnd', { viewerId, reason, message });
      },
      close: () => {
        this.#flush();
        this.#viewers.delete(viewerId);
        if (!this.#closed) this.#socket.emit('viewerEnd', { viewerId, reason: 'replaced', message: 'replaced by a newer connection' });
      },
    };
  }

  /**
   * The room tells each participant in turn, with one payload object for all (viewer count, a new
   * producer, an approved question): consecutive notifications with the same payload become one
   * message naming every viewer, so an edge with a thousand viewers gets one message, not a thousand.
   * Only consecutive ones are merged, so each viewer's notifications keep their order.
   */
  #relay(viewerId: string, name: NotificationName, payload: unknown): void {
    if (this.#closed) return;
    const last = this.#batch.at(-1);
    if (last && last.payload === payload && last.name === name) last.viewerIds.push(viewerId);
    else {
      if (this.#batch.length === 0) queueMicrotask(() => this.#flush());
      this.#batch.push({ name, payload, viewerIds: [viewerId] });
    }
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    if (this.#closed) return;
    for (const { name, payload, viewerIds } of batch) this.#socket.emit('viewerNotify', { viewerIds, name, payload });
  }
}
