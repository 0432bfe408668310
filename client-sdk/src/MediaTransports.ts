/**
 * The two WebRTC transports of a MediaSession and their lifecycle: made when first needed (or taken
 * from the join's answer, or from the pre-join screen), connected in the background, given up when
 * the server refuses one — closed on both sides, also after a signaling outage, so that what was made
 * on it can be received again on the next — and ICE restarted when their path fails.
 */
import type { Device, types } from 'mediasoup-client';
import { ProtocolError, type MediaSource, type TransportOptions } from '../../signaling/protocol/types/index.js';
import type { JoinTimeline } from './JoinTimeline.js';
import { negotiateProbatorWithFirstVideo } from './probation.js';
import type { PreparedReceive } from './receiveAhead.js';
import type { SignalingConnection } from './SignalingConnection.js';

type Direction = 'send' | 'recv';

/** How media reaches the server on restrictive hospital networks. */
export interface NetworkOptions {
  /** ICE over TCP only (networks that block UDP). */
  forceTcp?: boolean;
  /** 'relay' sends all media through the TURN servers the server hands out. */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

export interface TransportDeps {
  signaling: SignalingConnection;
  /** The session's current device (a rejoin loads another). */
  device: () => Device;
  settings: NetworkOptions;
  timeline: JoinTimeline | undefined;
  /** The receive transport was given up: what the join made on it will not be wired. */
  recvDropped: () => void;
}

export class MediaTransports {
  readonly #deps: TransportDeps;
  #send: Promise<types.Transport> | undefined;
  #recv: Promise<types.Transport> | undefined;
  /** Each transport's `connectTransport` request, answered in the background (see #connect). */
  readonly #connected = new WeakMap<types.Transport, Promise<void>>();
  /** Transports given up (connect refused, or replaced by a join's own) → done once closed on both sides. */
  readonly #dropped = new WeakMap<types.Transport, Promise<void>>();
  /** Transports dropped while signaling was down: still open on the server until closed there (#closeOnServer). */
  readonly #unclosed = new Set<string>();
  /** The transport made ahead that the join is to take (until its answer says whether it did). */
  #preparedId: string | undefined;

  constructor(deps: TransportDeps) {
    this.#deps = deps;
  }

  send(): Promise<types.Transport> {
    this.#send ??= this.#uncachedOnFailure('send');
    return this.#send;
  }

  recv(): Promise<types.Transport> {
    this.#recv ??= this.#uncachedOnFailure('recv');
    return this.#recv;
  }

  /** Settles once `transport`, given up, is closed on both sides; undefined while it is in use. */
  dropped(transport: types.Transport): Promise<void> | undefined {
    return this.#dropped.get(transport);
  }

  /** The receive transport the join is asked to take (made ahead on the pre-join screen), if any. */
  get preparedId(): string | undefined {
    return this.#preparedId;
  }

  /** Takes the receive transport made on the pre-join screen as this session's, for the join to name. */
  adoptPrepared({ transport, connected }: PreparedReceive): void {
    this.#preparedId = transport.id;
    this.#recv = Promise.resolve(transport);
    this.#connected.set(transport, connected);
    this.#watch(transport, 'recv');
    this.#deps.timeline?.mark('recvTransport');
    if (transport.connectionState === 'connected') this.#deps.timeline?.mark('transportConnected');
  }

  /**
   * The join's answer made a receive transport (`options`): true if it is the one made ahead, which
   * stays; otherwise the current one is retired — a transport made before the answer came (a track
   * announced ahead of it: during a rejoin another participant republished) is closed on the server
   * too, so what was being received on it is asked for once more on the join's — and this one set up.
   */
  receiveOn(options: TransportOptions): boolean {
    const preparedId = this.#preparedId;
    this.#preparedId = undefined;
    if (options.id === preparedId && this.#recv) return true;
    this.#retireRecv();
    this.#recv = Promise.resolve(this.#setUp('recv', options));
    return false;
  }

  /**
   * The join did not take the transport made ahead (it waited in the lobby, or answered without
   * receiving): given up like a refused one — closed, and on the server too if it was taken there —
   * so the room's tracks are received on a new one.
   */
  dropPrepared(): void {
    if (!this.#preparedId) return;
    this.#preparedId = undefined;
    this.#retireRecv();
  }

  /**
   * A consumer or producer being made on `transport`, once the transport's connect request (sent in
   * the background, see #connect) has succeeded too. A refusal fails it at once: the transport is
   * then closed, and a peer connection closed in mid-negotiation never settles what was pending on
   * it; should it complete anyway, it is closed.
   */
  async madeOn<T extends { close(): void }>(transport: types.Transport, making: Promise<T>): Promise<T> {
    try {
      const [made] = await Promise.all([making, this.#connected.get(transport)]);
      return made;
    } catch (error) {
      making.then(
        (made) => made.close(),
        () => undefined,
      );
      throw error;
    }
  }

  /** The transports made so far. */
  async list(): Promise<types.Transport[]> {
    return Promise.all([this.#send, this.#recv].filter((t): t is Promise<types.Transport> => !!t));
  }

  /** After a signaling outage: restart ICE on transports whose media path failed meanwhile. */
  async restartFailedIce(): Promise<void> {
    for (const transport of await this.list()) {
      if (transport.connectionState === 'failed' || transport.connectionState === 'disconnected') await this.#restartIce(transport);
    }
  }

  /**
   * After a resume: closes on the server the transports dropped while signaling was down, whose
   * consumers would otherwise keep the room's tracks from being received again on a new one.
   */
  async closeDropped(): Promise<void> {
    await Promise.all([...this.#unclosed].map((id) => this.#closeOnServer(id)));
  }

  /** Closes both transports (their producers and consumers with them); the next use makes new ones. */
  close(): void {
    for (const pending of [this.#send, this.#recv])
      pending?.then(
        (t) => t.close(),
        () => undefined,
      );
    this.#send = this.#recv = undefined;
  }

  /** For a rejoin: closed, and what was left to close on the server belonged to the participant it replaced. */
  reset(): void {
    this.close();
    this.#preparedId = undefined;
    this.#unclosed.clear();
  }

  /** The current receive transport, once settled, dropped (see #drop): what was received on it is asked for again on the next. */
  #retireRecv(): void {
    this.#recv?.then(
      (t) => void this.#dropped.set(t, this.#drop(t, 'recv')),
      () => undefined,
    );
  }

  /** A transport that could not be created (e.g. asked for mid-rejoin) is asked for again next time. */
  #uncachedOnFailure(direction: Direction): Promise<types.Transport> {
    const pending = this.#create(direction);
    pending.catch(() => {
      if (direction === 'send' && this.#send === pending) this.#send = undefined;
      if (direction === 'recv' && this.#recv === pending) this.#recv = undefined;
    });
    return pending;
  }

  async #create(direction: Direction): Promise<types.Transport> {
    const forceTcp = this.#deps.settings.forceTcp ?? false;
    return this.#setUp(direction, await this.#deps.signaling.request('createTransport', { direction, forceTcp }));
  }

  async #restartIce(transport: types.Transport): Promise<void> {
    const { iceParameters } = await this.#deps.signaling.request('restartIce', { transportId: transport.id });
    await transport.restartIce({ iceParameters });
  }

  /**
   * Gives the server this transport's DTLS parameters without holding the browser up: mediasoup-client
   * waits for the connect callback before setting its local description, and a round trip there is a
   * round trip more before ICE starts. The request reaches the server long before the browser's DTLS
   * handshake can (ICE needs a round trip first; a DTLS hello that did overtake it is sent again by
   * the browser). Consumers and producers made on the transport await the request, so a refusal still
   * fails them; the transport is then dropped and the next one is asked for afresh.
   */
  #connect(transport: types.Transport, direction: Direction, dtlsParameters: types.DtlsParameters): Promise<void> {
    const request = { transportId: transport.id, dtlsParameters };
    const connecting = this.#deps.signaling.request('connectTransport', request).then(() => undefined);
    connecting.catch(() => this.#dropped.set(transport, this.#drop(transport, direction)));
    return connecting;
  }

  /**
   * A transport the server would not connect: closed, and no longer handed out. The server is asked to
   * close its side too, so that what was made on it (the join's consumers) does not hold those tracks:
   * they can be received again on the next transport. If signaling is down, that is done after the
   * resume (closeDropped), before the room's tracks are received again.
   */
  async #drop(transport: types.Transport, direction: Direction): Promise<void> {
    transport.close();
    const closing = this.#closeOnServer(transport.id);
    const cached = direction === 'send' ? this.#send : this.#recv;
    if (cached && (await cached.catch(() => undefined)) === transport) {
      if (direction === 'send' && this.#send === cached) this.#send = undefined;
      if (direction === 'recv' && this.#recv === cached) {
        this.#recv = undefined;
        this.#deps.recvDropped();
      }
    }
    await closing;
  }

  /** Closes a dropped transport on the server; kept for closeDropped() if signaling is down. */
  async #closeOnServer(transportId: string): Promise<void> {
    try {
      await this.#deps.signaling.request('closeTransport', { transportId });
      this.#unclosed.delete(transportId);
    } catch (error) {
      if (error instanceof ProtocolError && error.code === 'UNAVAILABLE') this.#unclosed.add(transportId);
      else this.#unclosed.delete(transportId); // gone there already
    }
  }

  #setUp(direction: Direction, { iceServers, ...options }: TransportOptions): types.Transport {
    const policy = this.#deps.settings.iceTransportPolicy;
    const network = { iceServers, ...(policy ? { iceTransportPolicy: policy } : {}) };
    const device = this.#deps.device();
    const transport =
      direction === 'send'
        ? device.createSendTransport({ ...options, ...network })
        : device.createRecvTransport({ ...options, ...network });
    if (direction === 'recv') {
      negotiateProbatorWithFirstVideo(transport);
      this.#deps.timeline?.mark('recvTransport');
    }
    // Settled by the connect request, which mediasoup-client triggers with the first consumer or
    // producer (madeOn awaits it; the no-op catch keeps a refusal from being reported unhandled).
    const connected = new Promise<void>((resolve, reject) =>
      transport.on('connect', ({ dtlsParameters }, callback) => {
        this.#connect(transport, direction, dtlsParameters).then(resolve, reject);
        callback();
      }),
    );
    connected.catch(() => undefined);
    this.#connected.set(transport, connected);
    if (direction === 'send') this.#announceProducers(transport);
    this.#watch(transport, direction);
    return transport;
  }

  /** mediasoup-client asks for each producer's server-side id as it is made: the `produce` request. */
  #announceProducers(transport: types.Transport): void {
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = appData['source'] as MediaSource;
      const paused = appData['paused'] === true;
      this.#deps.signaling
        .request('produce', {
          transportId: transport.id,
          kind,
          source,
          rtpParameters: rtpParameters as never,
          ...(paused ? { paused } : {}),
        })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
  }

  #watch(transport: types.Transport, direction: Direction): void {
    transport.on('connectionstatechange', (state) => {
      if (state === 'connected' && direction === 'recv') this.#deps.timeline?.mark('transportConnected');
      // A network change or a lost path: ask the server for fresh ICE credentials and try again.
      // (If signaling is down too, restartFailedIce() runs once it is back.)
      if (state === 'failed' && !transport.closed) this.#restartIce(transport).catch(() => undefined);
    });
  }
}
