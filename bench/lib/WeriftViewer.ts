/**
 * A light, real WebRTC receiver for load tests: joins a room over the Socket.IO protocol as a
 * receive-only participant and consumes every producer through werift (a WebRTC stack in plain
 * Node): ICE against the mediasoup ICE-lite transport, DTLS, SRTP, RTCP receiver reports, NACK and
 * PLI — everything a browser does on the wire, without decoding pixels. Video "decoding" is checked
 * by reassembling VP8 frames from RTP and reading key-frame headers; audio (Opus) is counted.
 *
 *   const viewer = await WeriftViewer.join({ url, token });
 *   await viewer.waitForKeyFrame(10_000);
 *   console.log(viewer.stats());
 *   await viewer.close();
 *
 * Loopback only: werift would otherwise ask stun.l.google.com for a server-reflexive candidate, so it
 * is given a STUN responder on 127.0.0.1 (./loopbackStun.ts), gathers host candidates on 127.0.0.1
 * only, and the remote candidates must be loopback addresses (else the viewer refuses to connect).
 *
 * The parts: ./viewerSignaling.ts (socket and requests), ./viewerPeer.ts (capabilities, the loopback
 * peer connection and guards), ./viewerNegotiation.ts (m-sections, offers, the task queue),
 * ./viewerAccounting.ts (consumers, RTP counters, bitrates, PLIs), ./viewerTypes.ts (public types).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RtpCapabilities } from 'mediasoup-client/types';
import type { MediaStreamTrack, RTCPeerConnection } from 'werift';
import {
  MAX_ROUTE_HOPS,
  type ConsumeResult,
  type JoinResult,
  type NotificationMap,
  type ProducerInfo,
  type RequestName,
  type RequestPayload,
  type ResponseMap,
  type TransportOptions,
  type WireError,
} from '../../signaling/protocol/index.js';
import { loopbackStunUrl } from './loopbackStun.js';
import { ReceiveAccounting, type ConsumerState } from './viewerAccounting.js';
import { Negotiation } from './viewerNegotiation.js';
import { assertLoopbackCandidates, assertLoopbackUrl, createPeerConnection, viewerRtpCapabilities } from './viewerPeer.js';
import { timeout, ViewerSignaling } from './viewerSignaling.js';
import type { ViewerEvents, ViewerStats, WeriftViewerOptions } from './viewerTypes.js';

export type { KindStats, VideoStats, ViewerEvents, ViewerStats, WeriftViewerOptions } from './viewerTypes.js';
export { viewerRtpCapabilities } from './viewerPeer.js';

export class WeriftViewer extends EventEmitter<ViewerEvents> {
  readonly #options: Required<Omit<WeriftViewerOptions, 'log'>> & { log: (line: string) => void };
  readonly #signaling: ViewerSignaling;
  readonly #negotiation: Negotiation;
  readonly #accounting = new ReceiveAccounting(this);
  readonly #t0: number;
  #pc: RTCPeerConnection | undefined;
  #participantId: string | undefined;
  #transport: TransportOptions | undefined;
  /** Producers announced before the receive transport existed, or waiting for the next batch. */
  readonly #toConsume = new Map<string, ProducerInfo>();
  readonly #subscribedTracks = new WeakSet<MediaStreamTrack>();
  #batchScheduled = false;
  #joinedAt: number | undefined;
  #transportConnectedAt: number | undefined;
  #closed = false;
  #pliTimer: NodeJS.Timeout | undefined;
  /** The latest payload of each notification the server sent (e.g. `viewerCount`). */
  readonly notifications = new Map<string, unknown>();
  /** The last warnings (also emitted as 'warning' events), including those raised during `join`. */
  readonly warnings: string[] = [];

  private constructor(options: WeriftViewerOptions, hops = 0) {
    super();
    this.on('warning', (message) => {
      this.warnings.push(message);
      if (this.warnings.length > 50) this.warnings.shift();
    });
    this.#t0 = performance.now();
    this.#options = {
      requestTimeoutMs: 10_000,
      joinTimeoutMs: 20_000,
      bitrateWindowMs: 5_000,
      allowRemote: false,
      ...options,
      log: options.log ?? (() => undefined),
    };
    assertLoopbackUrl(options.url, this.#options.allowRemote);
    this.#signaling = new ViewerSignaling({
      url: options.url,
      token: options.token,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      log: this.#options.log,
      hops,
    });
    this.#negotiation = new Negotiation({
      signaling: this.#signaling,
      log: this.#options.log,
      loopbackOnly: !this.#options.allowRemote,
      isClosed: () => this.#closed,
      warn: (message) => this.emit('warning', message),
    });
  }

  /**
   * Connects, joins, creates the receive transport and consumes what is already published. In a
   * cluster, a node that does not serve the viewer answers MOVED with the route of one that does: it
   * is followed (at most MAX_ROUTE_HOPS times), as the SDK does.
   */
  static async join(options: WeriftViewerOptions): Promise<WeriftViewer> {
    let url = options.url;
    for (let hops = 0; ; hops++) {
      const viewer = new WeriftViewer({ ...options, url }, hops);
      try {
        await timeout(viewer.#start(), viewer.#options.joinTimeoutMs, 'viewer join');
        return viewer;
      } catch (error) {
        await viewer.close();
        const wire = (error as { wire?: WireError }).wire;
        const route = wire?.code === 'MOVED' ? wire.details?.['route'] : undefined;
        if (!route || hops >= MAX_ROUTE_HOPS) throw error;
        url = route;
      }
    }
  }

  /**
   * What the server answered for each consumer still open (e.g. whether its producer was paused
   * then), with the RTP packets received on it so far.
   */
  consumed(): (ConsumeResult & { packets: number })[] {
    return [...this.#accounting.consumers.values()].filter((c) => !c.closed).map((c) => ({ ...c.info, packets: c.seq.received }));
  }

  /** The signaling URL of the node this viewer ended up on (after any MOVED). */
  get url(): string {
    return this.#options.url;
  }

  /** Any request of the protocol (e.g. `askQuestion`), answered or rejected with the server's ProtocolError. */
  request<N extends RequestName>(name: N, payload: RequestPayload<N>): Promise<ResponseMap[N]> {
    return this.#signaling.request(name, payload);
  }

  get participantId(): string | undefined {
    return this.#participantId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The server-side receive transport's id, once created. */
  get transportId(): string | undefined {
    return this.#transport?.id;
  }

  /** werift's peer connection (diagnostics: getStats(), transceivers). */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.#pc;
  }

  /** The ICE servers werift was configured with (all loopback; exposed for tests). */
  get iceServerUrls(): string[] {
    return (this.#pc?.getConfiguration().iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  }

  /** werift's local ICE candidates' addresses, from its last local description (for tests). */
  get localCandidateAddresses(): string[] {
    const sdp = this.#pc?.localDescription?.sdp ?? '';
    return [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ/gm)].map((m) => m[1]!);
  }

  /** Remote (mediasoup) address of the ICE pair in use, if connected. */
  get selectedRemoteAddress(): string | undefined {
    const pair = this.#pc?.iceTransports[0]?.connection.nominated;
    return pair?.remoteCandidate.host;
  }

  async #start(): Promise<void> {
    this.#wireNotifications();
    await this.#signaling.connect();
    this.#signaling.socket.on('disconnect', (reason) => void this.#shutdown(`signaling ${reason}`));
    const stunUrl = await loopbackStunUrl();
    const { rtpCapabilities: routerCaps } = await this.#signaling.request('getRouterRtpCapabilities', {});
    const caps = viewerRtpCapabilities(routerCaps);
    this.#pc = this.#createPeerConnection(caps, stunUrl);
    const joined = await this.#signaling.request('join', { rtpCapabilities: caps });
    let result: JoinResult;
    if (joined.status === 'waiting') {
      this.#options.log('waiting in the lobby');
      result = await new Promise<JoinResult>((resolve) => this.#signaling.socket.once('admitted', resolve));
    } else {
      result = joined;
    }
    this.#joinedAt = performance.now();
    this.#participantId = result.self.id;
    for (const producer of result.producers) this.#toConsume.set(producer.id, producer);
    this.#transport = await this.#signaling.request('createTransport', { direction: 'recv' });
    assertLoopbackCandidates(this.#transport, this.#options.allowRemote);
    this.#pliTimer = setInterval(() => this.#accounting.requestKeyFrames(), 500);
    this.#pliTimer.unref();
    this.#scheduleBatch();
    await this.#negotiation.settled;
  }

  #createPeerConnection(caps: RtpCapabilities, stunUrl: string): RTCPeerConnection {
    const pc = createPeerConnection(caps, { stunUrl, allowRemote: this.#options.allowRemote });
    pc.onTrack.subscribe((track) => this.#subscribeTrack(track));
    pc.connectionStateChange.subscribe((state) => {
      this.#options.log(`pc ${state}`);
      if (state === 'connected') this.#transportConnectedAt ??= performance.now();
      if (state === 'failed') this.emit('warning', 'peer connection failed');
    });
    return pc;
  }

  #subscribeTrack(track: MediaStreamTrack): void {
    if (this.#subscribedTracks.has(track)) return;
    this.#subscribedTracks.add(track);
    track.onReceiveRtp.subscribe((packet) => this.#accounting.onRtp(packet));
  }

  #wireNotifications(): void {
    const socket = this.#signaling.socket;
    const consumers = this.#accounting.consumers;
    socket.onAny((name: string, payload: unknown) => this.notifications.set(name, payload));
    socket.on('producerAdded', ({ producer }) => {
      this.#toConsume.set(producer.id, producer);
      this.#scheduleBatch();
    });
    socket.on('producerClosed', ({ producerId }) => {
      this.#toConsume.delete(producerId);
      for (const c of consumers.values()) if (c.info.producerId === producerId) this.#closeConsumer(c);
    });
    socket.on('consumerClosed', ({ consumerId, producerId }) => {
      this.#toConsume.delete(producerId);
      const c = consumers.get(consumerId);
      if (c) this.#closeConsumer(c);
    });
    socket.on('participantLeft', ({ participantId }: NotificationMap['participantLeft']) => {
      for (const [id, p] of this.#toConsume) if (p.participantId === participantId) this.#toConsume.delete(id);
      for (const c of consumers.values()) if (c.info.participantId === participantId) this.#closeConsumer(c);
    });
    socket.on('sessionEnded', ({ reason }) => void this.#shutdown(`session ended: ${reason}`));
  }

  /** Coalesces producer announcements: one consume round and one renegotiation per batch. */
  #scheduleBatch(): void {
    if (this.#batchScheduled || !this.#transport || this.#closed) return;
    this.#batchScheduled = true;
    this.#negotiation.enqueue(async () => {
      this.#batchScheduled = false;
      await this.#consumeBatch();
    });
  }

  async #consumeBatch(): Promise<void> {
    const transport = this.#transport!;
    const producers = [...this.#toConsume.values()];
    this.#toConsume.clear();
    const added: ConsumerState[] = [];
    for (const producer of producers) {
      if (this.#closed) return;
      let info: ConsumeResult;
      try {
        info = await this.#signaling.request('consume', { producerId: producer.id, transportId: transport.id });
      } catch (error) {
        // The producer may have closed meanwhile; the rest of the batch goes on.
        this.emit('warning', `consume ${producer.kind} ${producer.id}: ${(error as Error).message}`);
        continue;
      }
      const mid = info.rtpParameters.mid;
      const ssrc = info.rtpParameters.encodings?.[0]?.ssrc;
      if (mid === undefined || ssrc === undefined) {
        this.emit('warning', `consumer ${info.id} has no mid or ssrc`);
        continue;
      }
      const state = this.#accounting.add(info, mid, ssrc);
      this.#negotiation.place(state);
      added.push(state);
      this.emit('consumerAdded', { consumerId: info.id, producerId: info.producerId, kind: info.kind, source: info.source });
    }
    if (added.length === 0 || this.#closed) return;
    await this.#negotiate();
    for (const c of added) {
      if (c.closed || this.#closed) continue;
      try {
        await this.#signaling.request('resumeConsumer', { consumerId: c.info.id });
      } catch (error) {
        this.emit('warning', `resume ${c.info.id}: ${(error as Error).message}`);
      }
    }
  }

  #negotiate(): Promise<void> {
    return this.#negotiation.negotiate(this.#pc!, this.#transport!, this.#accounting.consumers, (track) => this.#subscribeTrack(track));
  }

  #closeConsumer(c: ConsumerState): void {
    if (!this.#accounting.retire(c)) return;
    this.#negotiation.release(c);
    this.emit('consumerClosed', c.info.id);
    if (this.#transport && !this.#closed) this.#negotiation.enqueue(() => this.#negotiate());
  }

  stats(): ViewerStats {
    const now = performance.now();
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - this.#t0);
    const { audio, video } = this.#accounting.kindStats(now, this.#options.bitrateWindowMs);
    return {
      at: now,
      participantId: this.#participantId,
      connectionState: this.#pc?.connectionState ?? 'new',
      joinRequestedAt: this.#t0,
      joinedMs: rel(this.#joinedAt),
      transportConnectedMs: rel(this.#transportConnectedAt),
      firstRtpMs: rel(this.#accounting.firstRtpAt),
      firstKeyFrameMs: rel(this.#accounting.firstKeyFrameAt),
      audio,
      video,
    };
  }

  /** Resolves with ms from `join` to the first complete VP8 key frame; rejects after `timeoutMs`. */
  waitForKeyFrame(timeoutMs: number): Promise<number> {
    const firstKeyFrameAt = this.#accounting.firstKeyFrameAt;
    if (firstKeyFrameAt !== undefined) return Promise.resolve(firstKeyFrameAt - this.#t0);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('keyFrame', onKey);
        this.off('closed', onClosed);
      };
      const onKey = () => {
        done();
        resolve(this.#accounting.firstKeyFrameAt! - this.#t0);
      };
      const onClosed = (reason: string) => {
        done();
        reject(new Error(`viewer closed before a key frame: ${reason}`));
      };
      const timer = setTimeout(() => {
        done();
        const s = this.stats();
        const warning = this.warnings.length ? `; last warning: ${this.warnings.at(-1)}` : '';
        reject(
          new Error(
            `no VP8 key frame within ${timeoutMs} ms ` +
              `(pc ${s.connectionState}, ${s.video.consumers} video consumers, ${s.video.packets} video packets${warning})`,
          ),
        );
      }, timeoutMs);
      this.on('keyFrame', onKey);
      this.on('closed', onClosed);
    });
  }

  /** Leaves the room, closes the socket and the peer connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#signaling.connected && this.#participantId) {
      await this.#signaling.request('leave', {}, 2000).catch(() => undefined);
    }
    await this.#shutdown('closed');
  }

  async #shutdown(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pliTimer);
    this.#signaling.close(reason);
    await this.#pc?.close().catch(() => undefined);
    this.emit('closed', reason);
  }
}
