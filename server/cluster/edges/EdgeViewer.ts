/**
 * One viewer's connection on an edge node. Requests pass the protocol schema here first; the viewer's
 * media requests (receive transport, consume, layers) are answered here, on this node's routers, with
 * the origin's producers piped in on first demand; everything else (join, leave, questions, hands,
 * chat history, recording consent…) is forwarded over the link and answered by the origin, which runs
 * its own gates on it. What the origin tells this viewer is relayed as it came.
 */
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Socket } from 'socket.io';
import {
  badRequest,
  forbidden,
  isRequestName,
  notFound,
  parseRequest,
  ProtocolError,
  publishPermission,
  PUBLISH_PERMISSIONS,
  REQUEST_NAMES,
  wrongState,
  type Ack,
  type ClientToServerEvents,
  type ConsumeResult,
  type LeaveReason,
  type NotificationName,
  type Permission,
  type RequestName,
  type RequestPayload,
  type ServerToClientEvents,
} from '../../../signaling/protocol/index.js';
import type { Principal } from '../../auth/TokenVerifier.js';
import type { Logger } from '../../logger.js';
import { clientCall } from '../../media/mediasoupErrors.js';
import { preferLayers } from '../../media/LayerRamp.js';
import type { Placement } from '../../rooms/FanOut.js';
import { MAX_TRANSPORTS } from '../../rooms/RoomMedia.js';
import { Participant } from '../../rooms/Participant.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, toProtocolError, type SignalingServices } from '../../signaling/dispatcher.js';
import { RequestTimedOut, Session } from '../../signaling/Session.js';
import { SocketChannel } from '../../signaling/SocketChannel.js';
import { routerCapabilities, transportOptions } from '../../signaling/handlers/mediaWire.js';
import type { EdgeRoom } from './EdgeRoom.js';
import { EDGE_LOCAL_REQUESTS } from './OriginLink.js';

export type ViewerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface EdgeViewerDeps {
  services: SignalingServices;
  initialOutgoingBitrate: number;
  /** Cap on what a viewer on stage may send (MEDIA_MAX_INCOMING_BITRATE). */
  maxIncomingBitrate: number;
  requestTimeoutMs: number | undefined;
  log: Logger;
}

export class EdgeViewer {
  readonly id = randomUUID();
  readonly #socket: ViewerSocket;
  /** Set once the edge room is open (every request waits for that: see #opened). */
  #room!: EdgeRoom;
  readonly #deps: EdgeViewerDeps;
  readonly #session: Session;
  readonly #channel: SocketChannel;
  readonly #log: Logger;
  /** The viewer's media on this node (transports, consumers); made at join. */
  #participant: Participant | undefined;
  /** The viewer's participant id in the origin's room (what everyone else knows it by). */
  #originId = '';
  /** Whether the origin has the viewer in the room (not only in its lobby). */
  #inRoom = false;
  #placement: Placement | undefined;
  #ended = false;
  /** Settles once the origin has this viewer: requests wait for it. */
  #opened: Promise<void> = Promise.resolve();

  constructor(socket: ViewerSocket, principal: Principal, deps: EdgeViewerDeps) {
    this.#socket = socket;
    this.#deps = deps;
    this.#log = deps.log.child({ room: principal.room, edgeViewer: this.id });
    this.#channel = new SocketChannel(socket);
    this.#session = new Session(principal, this.#channel);
  }

  /**
   * Takes the viewer's requests at once (Socket.IO drops events nobody listens to yet), each waiting
   * until the edge room is open and the origin has the viewer; rejects if either fails.
   */
  start(room: Promise<EdgeRoom>, token: string): Promise<void> {
    this.#opened = room.then(async (open) => {
      this.#room = open;
      open.addViewer(this.id, {
        notify: (name, payload) => this.#fromOrigin(name, payload),
        end: (reason, message) => this.#end(reason, message),
      });
      if (!this.#socket.connected) return open.removeViewer(this.id, false);
      this.#socket.on('disconnect', () => {
        open.removeViewer(this.id, !this.#ended);
        this.#releaseMedia('disconnected');
      });
      await open.request('viewerOpen', { viewerId: this.id, token });
    });
    this.#opened.catch(() => undefined);
    for (const name of REQUEST_NAMES) {
      this.#socket.on(name, (...args: unknown[]) => {
        const ack = args.at(-1);
        if (typeof ack !== 'function') return;
        const payload = args.length > 1 ? args[0] : undefined;
        this.#channel.answer(name, () => this.#dispatch(name, payload), ack as (r: Ack<unknown>) => void);
      });
    }
    this.#socket.onAny((event: unknown, ...args: unknown[]) => {
      if (isRequestName(event)) return;
      const ack = args.at(-1);
      const error = new ProtocolError('BAD_REQUEST', `unknown request "${String(event).slice(0, 64)}"`);
      if (typeof ack === 'function') (ack as (r: Ack<never>) => void)({ ok: false, error: error.toWire() });
    });
    return this.#opened;
  }

  async #dispatch(name: RequestName, raw: unknown): Promise<Ack<unknown>> {
    const timeoutMs = this.#deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    try {
      return await this.#session.enqueue(async (deadline) => {
        await this.#opened;
        return this.#handle(name, raw, deadline);
      }, timeoutMs);
    } catch (error) {
      if (error instanceof RequestTimedOut)
        return { ok: false, error: new ProtocolError('UNAVAILABLE', 'the media server did not answer in time; please retry').toWire() };
      return { ok: false, error: toProtocolError(error, name, this.#log).toWire() };
    }
  }

  async #handle(name: RequestName, raw: unknown, deadline: AbortSignal): Promise<Ack<unknown>> {
    const payload = parseRequest(name, raw);
    if (!EDGE_LOCAL_REQUESTS.has(name)) return this.#forward(name, payload, deadline);
    const ok = (data: unknown): Ack<unknown> => ({ ok: true, data });
    if (name === 'getRouterRtpCapabilities') return ok({ rtpCapabilities: routerCapabilities(this.#deps.services) });
    if (name === 'resume') throw notFound('no session to resume on this server; join again');
    const me = this.#participant;
    if (!me || me.closed || !this.#inRoom) throw wrongState('join the room first');
    switch (name) {
      case 'createTransport':
        return ok(await this.#createTransport(me, payload as RequestPayload<'createTransport'>));
      case 'connectTransport': {
        const { transportId, dtlsParameters } = payload as RequestPayload<'connectTransport'>;
        const transport = me.transport(transportId);
        await clientCall('connectTransport', () => transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters }));
        return ok({});
      }
      case 'restartIce': {
        const transport = me.transport((payload as RequestPayload<'restartIce'>).transportId);
        return ok({ iceParameters: await clientCall('restartIce', () => transport.restartIce()) });
      }
      case 'closeTransport':
        me.transport((payload as RequestPayload<'closeTransport'>).transportId).close();
        return ok({});
      case 'consume':
        return ok(await this.#consume(me, payload as RequestPayload<'consume'>));
      case 'resumeConsumer':
      case 'pauseConsumer': {
        const consumer = me.consumer((payload as RequestPayload<'resumeConsumer'>).consumerId);
        await clientCall(name, () => (name === 'pauseConsumer' ? consumer.pause() : consumer.resume()));
        return ok({});
      }
      case 'setPreferredLayers': {
        const { consumerId, spatialLayer, temporalLayer } = payload as RequestPayload<'setPreferredLayers'>;
        const consumer = me.consumer(consumerId);
        await clientCall('setPreferredLayers', () =>
          preferLayers(consumer, temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer }),
        );
        return ok({});
      }
      case 'produce':
        return ok(await this.#produce(me, payload as RequestPayload<'produce'>));
      default:
        throw badRequest(`${name} is not answered here`);
    }
  }

  /**
   * Answered by the origin; join and leave also open and close the viewer's media here. The origin
   * answers within its own request bound; a join that comes back after this viewer was already
   * answered UNAVAILABLE (its bound ran out here first) is undone there, so the retry is not refused
   * as "already joined".
   */
  async #forward(name: RequestName, payload: unknown, deadline: AbortSignal): Promise<Ack<unknown>> {
    if (name === 'join' && this.#participant && !this.#participant.closed) throw wrongState('already joined; leave first');
    const bound = (this.#deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) + 1000;
    // A join's `receive` (transport and consumers in the answer) would make them on the origin, where
    // this viewer's media does not live: the viewer receives here, through createTransport and consume.
    const forwarded = name === 'join' ? withoutReceive(payload as RequestPayload<'join'>) : payload;
    const ack = await this.#room.request('viewerRequest', { viewerId: this.id, name, payload: forwarded }, bound);
    if (name === 'join' && ack.ok && deadline.aborted) {
      void this.#room.request('viewerRequest', { viewerId: this.id, name: 'leave', payload: {} }).catch(() => undefined);
      return ack; // reaches no one: the client had its answer
    }
    if (name === 'join' && ack.ok) {
      const result = ack.data as { status?: unknown; self?: { id?: unknown } };
      this.#originId = typeof result.self?.id === 'string' ? result.self.id : '';
      const participant = new Participant(this.#session.principal, this.#channel);
      participant.setRtpCapabilities((payload as RequestPayload<'join'>).rtpCapabilities as types.RtpCapabilities);
      participant.admit();
      this.#participant = participant;
      this.#inRoom = result.status === 'joined';
    }
    if (name === 'leave') this.#releaseMedia('left');
    return ack;
  }

  /** Receive transports on the viewer's seat; a send transport (on stage) on the feed router, which pipes to the origin. */
  async #createTransport(me: Participant, { direction, forceTcp }: RequestPayload<'createTransport'>) {
    if (direction === 'send' && !PUBLISH_PERMISSIONS.some((p) => me.can(p)))
      throw forbidden(`a ${me.info.role} may not publish media in a ${me.principal.kind} room unless brought on stage`);
    if (me.transportCount >= MAX_TRANSPORTS)
      throw new ProtocolError('TOO_MANY_REQUESTS', `at most ${MAX_TRANSPORTS} transports per participant`);
    const home = direction === 'send' ? this.#room.feedHome : (await this.#seat(me)).home;
    const transport = await home.router.createWebRtcTransport<{ direction: 'send' | 'recv' }>({
      webRtcServer: home.webRtcServer,
      enableUdp: !(forceTcp ?? false),
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.#deps.initialOutgoingBitrate,
      appData: { direction },
    });
    try {
      if (direction === 'send') await transport.setMaxIncomingBitrate(this.#deps.maxIncomingBitrate);
      me.addTransport(transport);
    } catch (error) {
      transport.close();
      throw error;
    }
    return transportOptions(transport, this.#deps.services, me.info.identity);
  }

  /** On stage: produced here, then piped to the origin, which publishes it by the room's rules. */
  async #produce(me: Participant, { transportId, kind, source, rtpParameters, paused }: RequestPayload<'produce'>) {
    if (!me.can(publishPermission(source))) throw forbidden(`a ${me.info.role} may not publish ${source} unless brought on stage`);
    const transport = me.transport(transportId);
    if ((transport.appData as { direction?: string }).direction !== 'send') throw badRequest('produce needs a send transport');
    const producer = await clientCall('produce', () =>
      transport.produce({ kind, rtpParameters: rtpParameters as types.RtpParameters, paused: paused ?? false }),
    );
    try {
      await this.#room.stage(this.id, this.#originId, producer, source);
      me.addProducer(producer, source);
    } catch (error) {
      producer.close();
      throw error;
    }
    return { producerId: producer.id };
  }

  async #consume(me: Participant, { producerId, transportId }: RequestPayload<'consume'>): Promise<ConsumeResult> {
    me.mayConsume(producerId);
    const transport = me.transport(transportId);
    if ((transport.appData as { direction?: string }).direction !== 'recv') throw badRequest('consume needs a receive transport');
    const placement = await this.#seat(me);
    const { info } = await this.#room.producer(producerId).catch((error: unknown) => {
      throw error instanceof ProtocolError ? error : notFound(`producer ${producerId} is not in this room (it may have just closed)`);
    });
    const localId = await this.#room.fanOut.localProducerId(placement.home.router, producerId);
    const rtpCapabilities = me.rtpCapabilities;
    if (!rtpCapabilities || !placement.home.router.canConsume({ producerId: localId, rtpCapabilities }))
      throw badRequest('your device cannot receive this track (no common codec)');
    const consumer = await clientCall('consume', () => transport.consume({ producerId: localId, rtpCapabilities, paused: true }));
    try {
      me.addConsumer(consumer, producerId);
      if (info.source === 'screen') await consumer.setPriority(2);
    } catch (error) {
      consumer.close();
      throw error;
    }
    this.#room.fanOut.track(placement, consumer);
    consumer.on('producerclose', () => me.notify('consumerClosed', { consumerId: consumer.id, producerId }));
    consumer.on('layerschange', (layers) =>
      me.notify('consumerLayersChanged', {
        consumerId: consumer.id,
        spatialLayer: layers?.spatialLayer ?? null,
        temporalLayer: layers?.temporalLayer ?? null,
      }),
    );
    return {
      id: consumer.id,
      producerId,
      participantId: info.participantId,
      kind: consumer.kind,
      source: info.source,
      rtpParameters: consumer.rtpParameters as ConsumeResult['rtpParameters'],
      producerPaused: consumer.producerPaused,
    };
  }

  /** This viewer's seat on one of the edge's viewer routers (placed at the first need). */
  async #seat(me: Participant): Promise<Placement> {
    if (this.#placement && !this.#placement.home.router.closed) return this.#placement;
    const placement = await this.#room.fanOut.place(2);
    if (me.closed) {
      this.#room.fanOut.release(placement);
      throw wrongState('you are no longer in this room');
    }
    this.#placement = placement;
    return placement;
  }

  #fromOrigin(name: string, payload: unknown): void {
    // Let in from the origin's lobby: media may be set up from now on.
    if (name === 'admitted') this.#inRoom = true;
    // Brought on stage (or sent back): what this viewer may send from here follows the origin's grant.
    if (name === 'permissionsChanged' && this.#participant) {
      const { permissions } = payload as { permissions: Permission[] };
      this.#participant.revokeGrants();
      this.#participant.grant(permissions);
    }
    this.#channel.notify(name as NotificationName, payload as never);
  }

  #end(reason: LeaveReason, message: string): void {
    this.#ended = true;
    this.#releaseMedia(reason);
    this.#channel.end(reason, message);
  }

  #releaseMedia(reason: LeaveReason): void {
    this.#inRoom = false;
    if (this.#placement) this.#room.fanOut.release(this.#placement);
    this.#placement = undefined;
    // Its own channel is not used to tell the viewer (the caller does): close quietly.
    this.#participant?.close(reason === 'left' ? 'left' : 'disconnected');
    this.#participant = undefined;
  }
}

function withoutReceive(join: RequestPayload<'join'>): RequestPayload<'join'> {
  const { receive: _receive, ...rest } = join;
  return rest;
}
