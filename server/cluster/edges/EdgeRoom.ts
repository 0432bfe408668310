/**
 * A broadcast's room as an edge node hosts it: no lease, no trail, no presenters of its own — a
 * window onto the origin's room for the viewers placed here. It holds the edge's half of the pipe
 * (one PipeTransport pair per room and edge, SRTP and RTX on), a feed router where the origin's
 * producers appear under their own ids when a viewer here first needs them, and a FanOut that spreads
 * the viewers over this node's workers like the origin's. It ends when the origin ends it, when its
 * link drops (origin dead or room moved: viewers are told `room_moved` and rejoin through the entry),
 * or a while after its last viewer left.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  badRequest,
  EdgeLinkNotificationSchemas,
  LinkAck,
  EdgeLinkResponseSchemas,
  ProtocolError,
  type EdgeLinkRequestName,
  type EdgeLinkRequests,
  type EdgeLinkResponses,
  type EdgeToOriginEvents,
  type LeaveReason,
  type MediaSource,
  type WireRtpParameters,
  type OriginToEdgeEvents,
  type PipedProducer,
} from '../../../signaling/protocol/index.js';
import type { Logger } from '../../logger.js';
import { MEDIA_CODECS } from '../../media/codecs.js';
import type { WorkerPool } from '../../media/WorkerPool.js';
import { FanOut, type MediaHome } from '../../rooms/FanOut.js';
import type { EdgeOrigin } from '../routing.js';
import { signLinkToken, type LinkKeys } from './linkToken.js';

export interface EdgeRoomDeps {
  pool: WorkerPool;
  keys: LinkKeys;
  nodeId: string;
  consumersPerRouter: number;
  pipeListen: { ip: string; announcedAddress: string | undefined };
  /** How long an edge room without viewers stays open for the next one. */
  lingerMs: number;
  log: Logger;
}

/** What the edge's viewers are told about, and how the room reaches each of them. */
export interface EdgeRoomViewer {
  notify(name: string, payload: unknown): void;
  /** The origin ended this viewer's session, or the edge room closed. */
  end(reason: LeaveReason, message: string): void;
}

/** A producer of the origin as it lives on this edge's feed router. */
export interface PipedTrack {
  producer: types.Producer;
  info: PipedProducer;
}

type LinkClient = Socket<OriginToEdgeEvents, EdgeToOriginEvents>;

const LINK_TIMEOUT_MS = 5000;

export class EdgeRoom extends EventEmitter<{ closed: [] }> {
  readonly id: string;
  readonly origin: EdgeOrigin;
  readonly fanOut: FanOut;
  /** The feed router and its worker's WebRtcServer: where a viewer on stage sends from. */
  readonly feedHome: MediaHome;
  readonly #link: LinkClient;
  readonly #feed: types.Router;
  readonly #pipe: types.PipeTransport;
  readonly #piped = new Map<string, Promise<PipedTrack>>();
  /**
   * Producers of viewers on stage here, piped to the origin (by id): viewers here consume them as they
   * are. Each is registered before the origin is asked, settling with its answer: the origin announces
   * the producer to the whole room (this edge's viewers too) before that answer is back here, and a
   * consume arriving in between must wait for it, not ask the origin to pipe the producer back to this
   * edge — which fails (its id is taken on the feed router) and left that viewer without the track.
   */
  readonly #staged = new Map<string, Promise<PipedTrack>>();
  readonly #viewers = new Map<string, EdgeRoomViewer>();
  readonly #deps: EdgeRoomDeps;
  readonly #log: Logger;
  #linger: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    id: string,
    origin: EdgeOrigin,
    link: LinkClient,
    feed: types.Router,
    pipe: types.PipeTransport,
    fanOut: FanOut,
    feedHome: MediaHome,
    deps: EdgeRoomDeps,
  ) {
    super();
    this.id = id;
    this.origin = origin;
    this.#link = link;
    this.#feed = feed;
    this.#pipe = pipe;
    this.fanOut = fanOut;
    this.feedHome = feedHome;
    this.#deps = deps;
    this.#log = deps.log.child({ room: id, origin: origin.nodeId });
    this.#listen();
    feed.observer.once('close', () => this.close('room_closed', 'the media server process for this broadcast stopped; please rejoin'));
  }

  /** Connects to the origin, sets up the pipe pair; throws UNAVAILABLE if the origin cannot be reached. */
  static async open(id: string, origin: EdgeOrigin, deps: EdgeRoomDeps): Promise<EdgeRoom> {
    const { router: feed, host } = await deps.pool.createRouter(MEDIA_CODECS);
    let link: LinkClient | undefined;
    try {
      const { ip, announcedAddress } = deps.pipeListen;
      const pipe = await feed.createPipeTransport({
        listenInfo: { protocol: 'udp', ip, ...(announcedAddress ? { announcedAddress } : {}) },
        enableSrtp: true,
        enableRtx: true,
      });
      link = io(new URL('/edge', origin.route).href, {
        auth: { token: signLinkToken(deps.keys, deps.nodeId, id) },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: LINK_TIMEOUT_MS,
      }) as LinkClient;
      await connected(link);
      const feedHome: MediaHome = { router: feed, webRtcServer: host.webRtcServer, workerIndex: host.index };
      const fanOut = new FanOut(feedHome, deps.pool, deps.consumersPerRouter, deps.log);
      const room = new EdgeRoom(id, origin, link, feed, pipe, fanOut, feedHome, deps);
      const remote = await room.request('openPipe', {
        ip: announcedAddress ?? pipe.tuple.localAddress ?? ip,
        port: pipe.tuple.localPort,
        srtpParameters: pipe.srtpParameters!,
      });
      await pipe.connect({ ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters });
      room.#log.info('edge room open');
      return room;
    } catch (error) {
      link?.disconnect();
      feed.close();
      deps.log.warn(
        { room: id, origin: origin.nodeId, err: error instanceof Error ? error.message : String(error) },
        'edge room could not open',
      );
      throw error instanceof ProtocolError && error.code !== 'INTERNAL'
        ? error
        : new ProtocolError('UNAVAILABLE', 'this broadcast cannot be reached from this server right now; please retry', {
            retryAfterSeconds: '2',
          });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  addViewer(viewerId: string, viewer: EdgeRoomViewer): void {
    if (this.#closed) throw new ProtocolError('WRONG_STATE', 'this broadcast has just closed here; please join again');
    clearTimeout(this.#linger);
    this.#viewers.set(viewerId, viewer);
  }

  /** The viewer's connection ended: the origin forgets it; an empty edge room closes after the linger. */
  removeViewer(viewerId: string, tellOrigin: boolean): void {
    if (!this.#viewers.delete(viewerId)) return;
    if (tellOrigin && !this.#closed) void this.request('viewerClose', { viewerId }).catch(() => undefined);
    if (this.#viewers.size === 0 && !this.#closed) {
      this.#linger = setTimeout(() => this.close('room_closed', 'no viewers left on this server'), this.#deps.lingerMs);
      this.#linger.unref();
    }
  }

  /** The origin's producer on the feed router, piped on first demand (once per link). */
  producer(producerId: string): Promise<PipedTrack> {
    const staged = this.#staged.get(producerId);
    if (staged) return staged;
    let piping = this.#piped.get(producerId);
    if (!piping) {
      piping = this.request('pipeProducer', { producerId }).then(async (info) => {
        if (info.producerId !== producerId) throw new ProtocolError('INTERNAL', 'the origin piped another producer');
        const producer = await this.#pipe.produce({
          id: info.producerId,
          kind: info.kind,
          rtpParameters: info.rtpParameters as types.RtpParameters,
          paused: info.paused,
        });
        return { producer, info };
      });
      this.#piped.set(producerId, piping);
      piping.catch(() => this.#piped.delete(producerId));
    }
    return piping;
  }

  /**
   * A viewer on stage published `producer` here: piped to the origin (this pipe pair, the other way),
   * which publishes it as the viewer's by the room's rules; refused there, nothing is kept. It closes
   * here when it closes there (sent off stage, screen share stopped, closed by the viewer).
   */
  async stage(viewerId: string, participantId: string, producer: types.Producer, source: MediaSource): Promise<void> {
    const consumer = await this.#pipe.consume({ producerId: producer.id });
    const info: PipedProducer = {
      producerId: producer.id,
      participantId,
      kind: producer.kind,
      source,
      rtpParameters: consumer.rtpParameters as WireRtpParameters,
      paused: producer.paused,
    };
    const { kind, rtpParameters, paused } = info;
    const accepted = this.request('stageProduce', { viewerId, producerId: producer.id, kind, source, rtpParameters, paused }).then(() => ({
      producer,
      info,
    }));
    this.#staged.set(producer.id, accepted);
    producer.observer.once('close', () => this.#staged.delete(producer.id));
    try {
      await accepted;
    } catch (error) {
      this.#staged.delete(producer.id);
      consumer.close();
      throw error;
    }
  }

  /** A request to the origin, answered within `timeoutMs`; its answer is validated before use. */
  request<N extends EdgeLinkRequestName>(
    name: N,
    payload: EdgeLinkRequests[N],
    timeoutMs = LINK_TIMEOUT_MS,
  ): Promise<EdgeLinkResponses[N]> {
    return new Promise((resolve, reject) => {
      if (this.#closed && name !== 'viewerClose') return reject(new ProtocolError('UNAVAILABLE', 'the broadcast link is closed'));
      const timer = setTimeout(() => reject(new ProtocolError('UNAVAILABLE', 'the broadcast origin did not answer in time')), timeoutMs);
      const emit = this.#link.emit.bind(this.#link) as unknown as (event: string, payload: unknown, ack: (raw: unknown) => void) => void;
      emit(name, payload, (raw) => {
        clearTimeout(timer);
        const ack = LinkAck.safeParse(raw);
        if (!ack.success) return reject(badRequest(`the origin's answer to ${name} is malformed`));
        if (!ack.data.ok) return reject(ProtocolError.fromWire(ack.data.error));
        const data = validAnswer(name, ack.data.data);
        if (data === undefined) return reject(badRequest(`the origin's answer to ${name} is malformed`));
        resolve(data);
      });
    });
  }

  close(reason: LeaveReason, message: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#linger);
    for (const viewer of [...this.#viewers.values()]) viewer.end(reason, message);
    this.#viewers.clear();
    this.#link.disconnect();
    this.fanOut.close();
    this.#feed.close();
    this.#log.info({ reason }, 'edge room closed');
    this.emit('closed');
  }

  #listen(): void {
    const link = this.#link;
    link.on('viewerNotify', (raw) => {
      const parsed = EdgeLinkNotificationSchemas.viewerNotify.safeParse(raw);
      if (!parsed.success) return this.#log.warn('malformed viewerNotify from the origin: dropped');
      const { viewerIds, name, payload } = parsed.data;
      for (const id of viewerIds) this.#viewers.get(id)?.notify(name, payload);
    });
    link.on('viewerEnd', (raw) => {
      const parsed = EdgeLinkNotificationSchemas.viewerEnd.safeParse(raw);
      if (!parsed.success) return this.#log.warn('malformed viewerEnd from the origin: dropped');
      const viewer = this.#viewers.get(parsed.data.viewerId);
      this.removeViewer(parsed.data.viewerId, false);
      viewer?.end(parsed.data.reason, parsed.data.message);
    });
    link.on('producerState', (raw) => {
      const parsed = EdgeLinkNotificationSchemas.producerState.safeParse(raw);
      if (!parsed.success) return this.#log.warn('malformed producerState from the origin: dropped');
      const { producerId, state } = parsed.data;
      void this.#piped.get(producerId)?.then(
        ({ producer }) => {
          if (state === 'closed') producer.close();
          else if (state === 'paused') void producer.pause();
          else void producer.resume();
        },
        () => undefined,
      );
      if (state === 'closed') {
        this.#piped.delete(producerId);
        void this.#staged.get(producerId)?.then(
          ({ producer }) => producer.close(),
          () => undefined,
        );
      }
    });
    // The origin died, or ended or moved the room: the viewers rejoin through the entry, which finds
    // the room where it is now.
    link.on('disconnect', () => this.close('room_moved', 'this broadcast continues on another server; reconnecting…'));
  }
}

function connected(link: LinkClient): Promise<void> {
  return new Promise((resolve, reject) => {
    link.once('connect', () => resolve());
    link.once('connect_error', (error) => {
      const wire = (error as { data?: { code?: string; message?: string } }).data;
      reject(
        wire?.code === 'NOT_FOUND'
          ? new ProtocolError('UNAVAILABLE', 'this broadcast has moved; please join again', { retryAfterSeconds: '1' })
          : error,
      );
    });
  });
}

/** The answer's data, checked against what `name` must return; undefined if it does not fit. */
function validAnswer<N extends EdgeLinkRequestName>(name: N, data: unknown): EdgeLinkResponses[N] | undefined {
  const parsed = (EdgeLinkResponseSchemas[name] as z.ZodType).safeParse(data);
  return parsed.success ? (parsed.data as EdgeLinkResponses[N]) : undefined;
}
