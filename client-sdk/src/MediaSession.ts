/**
 * The media half of the SDK: a mediasoup-client Device, one send and one receive transport, and the
 * producers and consumers on them. It knows nothing about participants; ConsultationClient does.
 * What the user publishes (track, options, paused) is remembered apart from the producers, so that
 * after a rejoin on another node (`reset()`) the same tracks can be published again.
 */
import type { Device, types } from 'mediasoup-client';
import { ProtocolError, type ConsumeResult, type JoinReceive, type MediaSource } from '../../signaling/protocol/types/index.js';
import { loadDeviceFor } from './DeviceLoader.js';
import type { JoinTimeline } from './JoinTimeline.js';
import { MediaTransports, type NetworkOptions } from './MediaTransports.js';
import type { PreparedReceive } from './receiveAhead.js';
import type { SignalingConnection } from './SignalingConnection.js';

/** Simulcast for cameras: a thumbnail, a mid and a full layer, so weak uplinks still serve everyone. */
const CAMERA_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

/** A shared screen: one sharp layer (see publishScreen). */
const SCREEN_ENCODING: RTCRtpEncodingParameters = { maxBitrate: 2_500_000, maxFramerate: 15 };

/**
 * The browser's capture devices. They exist only on a secure page (https://, or localhost): on a
 * hospital intranet host name over plain http:// `navigator.mediaDevices` is simply absent, which
 * would surface as "cannot read properties of undefined" — say what to do instead.
 */
function mediaDevices(): MediaDevices {
  if (typeof navigator !== 'undefined' && navigator.mediaDevices) return navigator.mediaDevices;
  const insecure = typeof window !== 'undefined' && !window.isSecureContext;
  throw new ProtocolError(
    'FORBIDDEN',
    insecure
      ? 'the browser gives camera and microphone only to secure pages: open this page over https:// (请通过 https:// 打开本页面)'
      : 'this browser gives no access to a camera or microphone',
  );
}

export interface PublishOptions {
  /** Camera only: send three simulcast layers (default true). */
  simulcast?: boolean;
}

type MediaOptions = NetworkOptions & { handlerName?: types.BuiltinHandlerName };

/** A source the user publishes: what to publish again after a rejoin. */
export interface PublishedSource {
  source: MediaSource;
  track: MediaStreamTrack;
  options: PublishOptions;
  /** Paused (muted) by the user, or locally after a moderator's mute. */
  paused: boolean;
}

export class MediaSession {
  #device: Device;
  readonly #signaling: SignalingConnection;
  readonly #transports: MediaTransports;
  readonly #producers = new Map<MediaSource, types.Producer>();
  /** Outlives the producers when only their transport closed (a rejoin); gone when the user unpublishes. */
  readonly #published = new Map<MediaSource, { track: MediaStreamTrack; options: PublishOptions; producer: types.Producer }>();
  readonly #consumers = new Map<string, types.Consumer>();
  /** Consumers the join made, by producer, until `consume()` wires them. */
  #premade = new Map<string, ConsumeResult>();
  /** Tracks wired on the pre-join screen (receiveAhead.ts), by consumer id, until the join's answer places them. */
  readonly #ahead = new Map<string, types.Consumer>();
  /** Of the join's consumers, those it resumed already (wired ahead): no `resumeConsumer` to send. */
  #resumed = new Set<string>();
  readonly #options: MediaOptions;
  readonly #timeline: JoinTimeline | undefined;

  private constructor(device: Device, signaling: SignalingConnection, options: MediaOptions, timeline?: JoinTimeline) {
    this.#device = device;
    this.#signaling = signaling;
    this.#options = options;
    this.#timeline = timeline;
    this.#transports = new MediaTransports({
      signaling,
      device: () => this.#device,
      settings: options,
      timeline,
      recvDropped: () => {
        // made on the dropped transport
        this.#premade.clear();
        this.#ahead.clear();
      },
    });
  }

  /**
   * `prepared`: the receive transport made on the pre-join screen (receiveAhead.ts), taken with its
   * device unless this join asks for a path it was not made for (TCP only, relay only), or its ICE
   * failed meanwhile (nothing watched it before the join): then closed, and the join makes its own.
   */
  static async create(
    signaling: SignalingConnection,
    options: MediaOptions = {},
    timeline?: JoinTimeline,
    prepared?: PreparedReceive,
  ): Promise<MediaSession> {
    const fits =
      prepared &&
      prepared.transport.connectionState !== 'failed' &&
      !options.forceTcp &&
      !options.iceTransportPolicy &&
      !options.handlerName;
    if (!fits) {
      prepared?.transport.close();
      return new MediaSession(await loadDeviceFor(signaling, options, timeline), signaling, options, timeline);
    }
    timeline?.mark('routerCapabilities');
    timeline?.mark('deviceLoaded');
    const media = new MediaSession(prepared.device, signaling, options, timeline);
    media.#transports.adoptPrepared(prepared);
    for (const track of prepared.tracks) media.#ahead.set(track.id, track);
    return media;
  }

  /** The receive transport the join is asked to take (made ahead on the pre-join screen), if any. */
  get preparedReceiveId(): string | undefined {
    return this.#transports.preparedId;
  }

  /** The tracks wired on it ahead, for the join to resume (`join.receive.wired`). */
  get wiredAhead(): string[] {
    return [...this.#ahead.values()].filter((c) => !c.closed).map((c) => c.id);
  }

  get device(): Device {
    return this.#device;
  }

  /**
   * For a rejoin (possibly on another node): closes the old transports — their producers and
   * consumers with them, local tracks kept — and loads a new Device with this connection's router
   * capabilities. `published()` still lists what to publish again.
   */
  async reset(): Promise<void> {
    this.#transports.reset();
    this.#producers.clear();
    this.#consumers.clear();
    this.#premade.clear();
    this.#ahead.clear();
    this.#device = await loadDeviceFor(this.#signaling, this.#options);
  }

  /** What the user publishes (live tracks only), in the order first published. */
  published(): PublishedSource[] {
    return [...this.#published]
      .filter(([, p]) => p.track.readyState === 'live')
      .map(([source, p]) => ({ source, track: p.track, options: p.options, paused: p.producer.paused }));
  }

  /** Stops remembering a source (it may no longer be published after a rejoin). */
  forget(source: MediaSource): void {
    this.#published.delete(source);
  }

  async publish(track: MediaStreamTrack, source: MediaSource, options: PublishOptions = {}, paused = false): Promise<types.Producer> {
    const transport = await this.#transports.send();
    const producer = await this.#transports.madeOn(
      transport,
      transport.produce({
        track,
        stopTracks: false,
        appData: { source, paused },
        ...(source === 'camera' && options.simulcast !== false
          ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
          : {}),
        ...(source === 'microphone' ? { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } } : {}),
        ...(source === 'screen' ? { encodings: [SCREEN_ENCODING], codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
      }),
    );
    // The server created it paused; pause the sender too (no media for nobody).
    if (paused) producer.pause();
    this.#producers.set(source, producer);
    this.#published.set(source, { track, options, producer });
    let transportClosed = false;
    producer.on('transportclose', () => (transportClosed = true));
    producer.observer.on('close', () => {
      if (this.#producers.get(source) === producer) this.#producers.delete(source);
      // Closed on purpose (unpublished, stopped by a moderator, permission withdrawn): not republished.
      if (!transportClosed && this.#published.get(source)?.producer === producer) this.#published.delete(source);
    });
    return producer;
  }

  async publishCamera(options: PublishOptions & { constraints?: MediaTrackConstraints } = {}): Promise<MediaStreamTrack> {
    const video = options.constraints ?? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25 } };
    return this.#publishFirst(await mediaDevices().getUserMedia({ video }), 'camera', options);
  }

  async publishMicrophone(
    audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  ): Promise<MediaStreamTrack> {
    return this.#publishFirst(await mediaDevices().getUserMedia({ audio }), 'microphone');
  }

  /**
   * Replaces what a published camera or microphone captures (another device, other constraints)
   * without unpublishing: the producer keeps its id, so others keep their consumer and see only a
   * brief change, never a leave and join. The old capture is stopped; a rejoin republishes the new one.
   */
  async switchSource(source: 'camera' | 'microphone', constraints: MediaTrackConstraints): Promise<MediaStreamTrack> {
    const entry = this.#published.get(source);
    if (!entry) throw new ProtocolError('WRONG_STATE', `your ${source} is not published: publish it first`);
    const stream = await mediaDevices().getUserMedia(source === 'camera' ? { video: constraints } : { audio: constraints });
    const track = stream.getTracks()[0];
    if (!track) throw new ProtocolError('NOT_FOUND', `no ${source} track available`);
    try {
      await entry.producer.replaceTrack({ track });
    } catch (error) {
      track.stop();
      throw error;
    }
    entry.track.stop();
    this.#published.set(source, { ...entry, track });
    return track;
  }

  /**
   * A shared screen carries imaging, ECGs and lab reports: sharp text and edges matter more than
   * motion. So up to 1080p at 5–15 fps, `contentHint = 'detail'` (the encoder keeps resolution and
   * drops frames under pressure), one layer at up to 2.5 Mbit/s; the server ranks it first when
   * bandwidth is short.
   */
  async publishScreen(): Promise<MediaStreamTrack> {
    const stream = await mediaDevices().getDisplayMedia({
      video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0];
    if (track && 'contentHint' in track) track.contentHint = 'detail';
    return this.#publishFirst(stream, 'screen');
  }

  /** Publishes the stream's first track; stops the capture if the server refuses it. */
  async #publishFirst(stream: MediaStream, source: MediaSource, options: PublishOptions = {}): Promise<MediaStreamTrack> {
    const track = stream.getTracks()[0];
    if (!track) throw new ProtocolError('NOT_FOUND', `no ${source} track available`);
    try {
      await this.publish(track, source, options);
    } catch (error) {
      for (const t of stream.getTracks()) t.stop();
      throw error;
    }
    return track;
  }

  producer(source: MediaSource): types.Producer | undefined {
    return this.#producers.get(source);
  }

  async unpublish(source: MediaSource): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    producer.close();
    await this.#signaling.request('closeProducer', { producerId: producer.id });
  }

  /**
   * Receives one remote track: the server creates the consumer paused; we resume once it is wired. If
   * the transport was given up meanwhile (the server would not connect it, or a join's own replaced
   * it), the track is asked for once more on the current one.
   */
  async consume(producerId: string, again = true): Promise<{ consumer: types.Consumer; info: ConsumeResult }> {
    const transport = await this.#transports.recv();
    try {
      return await this.#consumeOn(transport, producerId);
    } catch (error) {
      const dropped = this.#transports.dropped(transport);
      if (!again || !dropped) throw error;
      await dropped; // closed on the server too: the track may be received again
      return this.consume(producerId, false);
    }
  }

  async #consumeOn(transport: types.Transport, producerId: string): Promise<{ consumer: types.Consumer; info: ConsumeResult }> {
    // Made with the join (see receiveWith), else asked for now.
    const premade = this.#premade.get(producerId);
    this.#premade.delete(producerId);
    const info = premade ?? (await this.#signaling.request('consume', { producerId, transportId: transport.id }));
    // Wired on the pre-join screen, else now (mediasoup-client negotiates the consumers asked for in
    // the same tick together).
    const ahead = this.#ahead.get(info.id);
    this.#ahead.delete(info.id);
    const consumer =
      ahead ??
      (await this.#transports.madeOn(
        transport,
        transport.consume({ id: info.id, producerId, kind: info.kind, rtpParameters: info.rtpParameters }),
      ));
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => this.#consumers.delete(consumer.id));
    if (consumer.kind === 'video') this.#timeline?.watchFirstVideoPacket(consumer.track);
    try {
      if (!this.#resumed.delete(consumer.id)) await this.#signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      // Closed on the server meanwhile (its producer left): nothing will ever arrive on it.
      consumer.close();
      throw error;
    }
    return { consumer, info };
  }

  /**
   * Adopts what a join made for receiving (`join` with `receive`): the receive transport, and the
   * consumers `consume()` then wires without asking the server again.
   */
  receiveWith(receive: JoinReceive): void {
    // On the transport made ahead (the server took it: already connected) or on the join's own.
    this.#transports.receiveOn(receive.transport);
    this.#premade = new Map(receive.consumers.map((c) => [c.producerId, c]));
    this.#resumed = new Set(receive.resumed);
    // Wired ahead but not in the answer: their tracks left meanwhile, or the join made another transport.
    this.#dropAhead(new Set(receive.consumers.map((c) => c.id)));
  }

  #dropAhead(kept: ReadonlySet<string> = new Set()): void {
    for (const [id, consumer] of this.#ahead) {
      if (kept.has(id)) continue;
      this.#ahead.delete(id);
      consumer.close();
    }
  }

  /**
   * The join did not take the transport made ahead (it waited in the lobby, or answered without
   * receiving): it is given up, and the room's tracks are received on a new one.
   */
  dropPrepared(): void {
    this.#dropAhead();
    this.#transports.dropPrepared();
  }

  consumer(id: string): types.Consumer | undefined {
    return this.#consumers.get(id);
  }

  closeConsumer(id: string): void {
    this.#consumers.get(id)?.close();
  }

  /** Prepares the receive transport early so the first remote track appears sooner. */
  warmUp(): Promise<unknown> {
    return this.#transports.recv();
  }

  async peerConnectionStats(): Promise<RTCStatsReport[]> {
    return Promise.all((await this.#transports.list()).map((t) => t.getStats()));
  }

  /** After a signaling outage: restart ICE on transports whose media path failed meanwhile. */
  restartFailedIce(): Promise<void> {
    return this.#transports.restartFailedIce();
  }

  /** After a resume: closes on the server the transports dropped while signaling was down. */
  closeDropped(): Promise<void> {
    return this.#transports.closeDropped();
  }

  close(): void {
    this.#transports.close();
  }
}
