/**
 * The media half of a room: transports, producers and consumers of its participants, and the rules
 * that go with them (transport caps, send vs receive, one producer per source, a moderator's mute
 * that holds against resume and re-publish, one consumer per (participant, producer) and at most
 * MAX_CONSUMERS each, who receives where in a fan-out room). Every mediasoup
 * call that carries what a client sent goes through `clientCall`, so mediasoup's refusals reach the
 * client as BAD_REQUEST / WRONG_STATE and our own bugs stay INTERNAL.
 */
import type { types } from 'mediasoup';
import {
  badRequest,
  notFound,
  PREPARED_TRACKS_MAX,
  ProtocolError,
  wrongState,
  type MediaKind,
  type MediaSource,
} from '../../signaling/protocol/index.js';
import { clientCall } from '../media/mediasoupErrors.js';
import { preferLayers, raiseLater, startLayers } from '../media/LayerRamp.js';
import type { MediaHome, Placement } from './FanOut.js';
import type { Participant, PublishedTrack } from './Participant.js';
import type { ProducerAppData, Room } from './Room.js';

/**
 * Browsers (libwebrtc) ignore a key-frame request that comes within 300 ms of the previous one, for
 * all of a camera's layers. mediasoup sends the first request at once and holds later ones for this
 * long, then sends one: someone joining, or a recorder starting, just after someone else gets a key
 * frame within this time instead of a request the sender drops (and a black tile or a recording that
 * starts late, until something asks again).
 */
const SENDER_KEY_FRAME_GUARD_MS = 350;

export interface MediaLimits {
  initialOutgoingBitrate: number;
  maxIncomingBitrate: number;
}

interface TransportAppData extends types.AppData {
  direction: 'send' | 'recv';
  /** Set by the first connect: DTLS may start on its own once ICE completes, so dtlsState cannot tell. */
  connectCalled?: boolean;
}

export interface ProduceRequest {
  transportId: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: types.RtpParameters;
  paused?: boolean | undefined;
}

/** Enough for a send and a receive transport, plus a spare during an ICE-less reconnect. */
export const MAX_TRANSPORTS = 4;

const SOURCE_KIND: Record<MediaSource, MediaKind> = { microphone: 'audio', camera: 'video', screen: 'video' };

/** A track received: its consumer, and whose it is. */
export interface Received {
  consumer: types.Consumer;
  owner: Participant;
  source: MediaSource;
}

const producerGone = (producerId: string) => notFound(`producer ${producerId} is not in this room (it may have just closed)`);

const directionOf = (transport: types.WebRtcTransport): 'send' | 'recv' => (transport.appData as TransportAppData).direction;

export class RoomMedia {
  readonly #room: Room;
  readonly #limits: MediaLimits;
  /** Where each audience member of a fan-out room receives: a seat on a viewer router. */
  readonly #placements = new Map<string, Placement>();
  /** Whether we follow the fan-out's router closures (from the first placement on). */
  #watchingFanOut = false;

  constructor(room: Room, limits: MediaLimits) {
    this.#room = room;
    this.#limits = limits;
  }

  async createTransport(participant: Participant, direction: 'send' | 'recv', forceTcp: boolean): Promise<types.WebRtcTransport> {
    if (participant.transportCount >= MAX_TRANSPORTS)
      throw new ProtocolError('TOO_MANY_REQUESTS', `at most ${MAX_TRANSPORTS} transports per participant`);
    // Sending always lands on the origin router; receiving where the room placed this participant.
    const home = direction === 'send' ? this.#origin() : await this.receiveHome(participant);
    const transport = await this.#webRtcTransport(home, direction, forceTcp);
    try {
      if (direction === 'send') await transport.setMaxIncomingBitrate(this.#limits.maxIncomingBitrate);
      participant.addTransport(transport); // throws (and we close) if the participant left meanwhile
    } catch (error) {
      transport.close();
      throw error;
    }
    return transport;
  }

  /**
   * A receive transport made before anyone joins with it (a pre-join screen's `prepareReceive`), so
   * that ICE and DTLS are done by the time the join's consumers are made on it. Only where the
   * receiving router is known before the join — the origin, in a room without fan-out; a broadcast
   * places its audience at the join (undefined). It belongs to nobody until `adoptPrepared`.
   */
  async prepareReceive(forceTcp: boolean): Promise<types.WebRtcTransport | undefined> {
    if (this.#room.fanOut || this.#room.closed) return undefined;
    return this.#webRtcTransport(this.#origin(), 'recv', forceTcp);
  }

  /** Gives `participant` a transport `prepareReceive` made (and its connection) as its receive transport. */
  adoptPrepared(participant: Participant, transport: types.WebRtcTransport): void {
    if (transport.closed) throw wrongState('the prepared receive transport has closed');
    if (participant.transportCount >= MAX_TRANSPORTS)
      throw new ProtocolError('TOO_MANY_REQUESTS', `at most ${MAX_TRANSPORTS} transports per participant`);
    participant.addTransport(transport);
  }

  /** Connects a prepared transport (before its join): as `connectTransport`, once. */
  async connectPrepared(transport: types.WebRtcTransport, dtlsParameters: types.DtlsParameters): Promise<void> {
    await this.#connectOnce(transport, dtlsParameters);
  }

  #webRtcTransport(home: MediaHome, direction: 'send' | 'recv', forceTcp: boolean): Promise<types.WebRtcTransport> {
    return home.router.createWebRtcTransport<TransportAppData>({
      webRtcServer: home.webRtcServer,
      enableUdp: !forceTcp,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.#limits.initialOutgoingBitrate,
      appData: { direction },
    });
  }

  async connectTransport(participant: Participant, transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    await this.#connectOnce(participant.transport(transportId), dtlsParameters);
  }

  async #connectOnce(transport: types.WebRtcTransport, dtlsParameters: types.DtlsParameters): Promise<void> {
    const appData = transport.appData as TransportAppData;
    if (appData.connectCalled) throw wrongState('transport already connected');
    appData.connectCalled = true;
    try {
      await clientCall('connectTransport', () => transport.connect({ dtlsParameters }));
    } catch (error) {
      appData.connectCalled = false; // a refused connect changes nothing: the client may try again
      throw error;
    }
  }

  /**
   * A transport its client gave up on (the SDK drops one the server would not connect): closing it
   * closes what was made on it, so the same tracks can be received again on the next one, and it no
   * longer counts against MAX_TRANSPORTS. Others are told of its producers as of any closed producer.
   */
  closeTransport(participant: Participant, transportId: string): void {
    participant.transport(transportId).close();
  }

  restartIce(participant: Participant, transportId: string): Promise<types.IceParameters> {
    const transport = participant.transport(transportId);
    return clientCall('restartIce', () => transport.restartIce());
  }

  async produce(participant: Participant, request: ProduceRequest): Promise<types.Producer> {
    const { kind, source } = request;
    const transport = participant.transport(request.transportId);
    if (directionOf(transport) !== 'send') throw badRequest('produce needs a send transport');
    const room = this.#room;
    return this.publishFrom(participant, kind, source, (appData) =>
      transport.produce<ProducerAppData>({
        kind,
        rtpParameters: request.rtpParameters,
        paused: request.paused ?? false,
        appData,
        // A large audience must not flood the presenter's encoder with key-frame requests; in a
        // consultation, requests are spaced just past what the sender would ignore.
        ...(kind === 'video'
          ? { keyFrameRequestDelay: room.fanOut ? room.options.keyFrameRequestDelayMs : SENDER_KEY_FRAME_GUARD_MS }
          : {}),
      }),
    );
  }

  /**
   * The rules of publishing one source, whatever brings the media in: a WebRTC send transport here,
   * or (a broadcast viewer on stage while on an edge node) the pipe from that edge. `make` creates the
   * producer; what it is given must be its appData.
   */
  async publishFrom(
    participant: Participant,
    kind: MediaKind,
    source: MediaSource,
    make: (appData: ProducerAppData) => Promise<types.Producer<ProducerAppData>>,
  ): Promise<types.Producer> {
    if (SOURCE_KIND[source] !== kind) throw badRequest(`${source} must be ${SOURCE_KIND[source]}, not ${kind}`);
    if (participant.hasSource(source)) throw wrongState(`${source} is already published; close it first`);
    participant.mayResume(source);
    const producer = await clientCall('produce', () => make({ participantId: participant.id, source }));
    // A moderator may have muted this source, or the participant left, while the producer was made.
    if (participant.closed || participant.isMutedByModerator(source)) {
      producer.close();
      if (participant.closed) throw wrongState('you left the room');
      participant.mayResume(source);
    }
    this.#room.publish(participant, producer, source);
    return producer;
  }

  closeProducer(participant: Participant, producerId: string): void {
    participant.producer(producerId).producer.close();
  }

  /** Pause or resume one's own producer; a moderator's mute wins, even one that lands mid-resume. */
  async setProducerPaused(participant: Participant, producerId: string, paused: boolean): Promise<void> {
    const { producer, source } = participant.producer(producerId);
    if (paused) await clientCall('pauseProducer', () => producer.pause());
    else {
      participant.mayResume(source);
      await clientCall('resumeProducer', () => producer.resume());
      if (participant.isMutedByModerator(source)) {
        await producer.pause();
        participant.mayResume(source);
      }
    }
    this.#room.notifyOthers(participant, paused ? 'producerPaused' : 'producerResumed', { producerId, participantId: participant.id });
  }

  /** Pauses every producer of a source for a moderator's mute; the others see it paused. */
  async pauseSource(participant: Participant, source: MediaSource): Promise<void> {
    for (const { producer } of participant.producersOf(source)) {
      const wasPaused = producer.paused;
      // Always pause: a resume in flight may not have flipped `paused` yet; the worker orders both.
      await clientCall('mute', () => producer.pause());
      if (!wasPaused) this.#room.notifyOthers(participant, 'producerPaused', { producerId: producer.id, participantId: participant.id });
    }
  }

  async consume(participant: Participant, producerId: string, transportId: string): Promise<Received> {
    const room = this.#room;
    const found = room.findProducer(producerId);
    if (!found) throw producerGone(producerId);
    if (found.owner === participant) throw badRequest('cannot consume your own producer');
    participant.mayConsume(producerId); // before anything is made: a refused consume creates nothing
    const transport = participant.transport(transportId);
    if (directionOf(transport) !== 'recv') throw badRequest('consume needs a receive transport');
    const home = await this.receiveHome(participant);
    // In a fan-out room the track is piped to the viewer's router first (same id across workers).
    const localId = room.fanOut ? await room.fanOut.localProducerId(home.router, producerId) : producerId;
    const rtpCapabilities = participant.rtpCapabilities;
    if (!rtpCapabilities || !home.router.canConsume({ producerId: localId, rtpCapabilities })) {
      throw badRequest('your device cannot receive this track (no common codec)');
    }
    // Paused until the client says it is ready, so the first packets are not lost before it listens.
    const start = startLayers(found.track.producer);
    const consumer = await clientCall('consume', () => transport.consume({ producerId: localId, rtpCapabilities, paused: true, ...start }));
    return this.#keep(participant, consumer, producerId, found);
  }

  /**
   * Paused consumers of the room's tracks (but those of `identity`'s own earlier session) on a
   * prepared transport, for a pre-join screen to wire ahead; at most PREPARED_TRACKS_MAX. They belong
   * to nobody — nothing flows on them — until a join adopts them (`adoptTrack`); the transport's
   * closing closes them. None in a fan-out room (no transport is prepared there).
   */
  async prepareTracks(
    transport: types.WebRtcTransport,
    rtpCapabilities: types.RtpCapabilities,
    identity: string,
  ): Promise<types.Consumer[]> {
    const room = this.#room;
    if (room.fanOut) return [];
    const producers = room
      .participants()
      .filter((owner) => owner.info.identity !== identity)
      .flatMap((owner) => owner.media().producers)
      .slice(0, PREPARED_TRACKS_MAX);
    const made = await Promise.allSettled(
      producers.map((producer) =>
        room.router.canConsume({ producerId: producer.id, rtpCapabilities })
          ? transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, ...startLayers(producer) })
          : Promise.reject(new Error('no common codec')),
      ),
    );
    return made.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * Gives `participant` a consumer `prepareTracks` made, as `consume` would have made it; refused if
   * it closed meanwhile (its producer left) or is not one they may receive.
   */
  async adoptTrack(participant: Participant, consumer: types.Consumer): Promise<Received> {
    const found = this.#room.findProducer(consumer.producerId);
    if (consumer.closed || !found) throw producerGone(consumer.producerId);
    if (found.owner === participant) throw badRequest('cannot consume your own producer');
    return this.#keep(participant, consumer, consumer.producerId, found);
  }

  /** The participant's from now on: counted, prioritised, raised from its first layer, followed. */
  async #keep(
    participant: Participant,
    consumer: types.Consumer,
    producerId: string,
    found: { owner: Participant; track: PublishedTrack },
  ): Promise<Received> {
    const room = this.#room;
    try {
      participant.addConsumer(consumer, producerId);
      // Shared imaging and lab reports matter more than faces: when bandwidth is short, the screen
      // keeps its layers longest. (Audio consumers are always forwarded; only video layers adapt.)
      if (found.track.source === 'screen') await consumer.setPriority(2);
      raiseLater(consumer);
    } catch (error) {
      consumer.close();
      throw error;
    }
    const placement = this.#placements.get(participant.id);
    if (room.fanOut && placement) room.fanOut.track(placement, consumer);
    consumer.on('producerclose', () => participant.notify('consumerClosed', { consumerId: consumer.id, producerId }));
    consumer.on('layerschange', (layers) =>
      participant.notify('consumerLayersChanged', {
        consumerId: consumer.id,
        spatialLayer: layers?.spatialLayer ?? null,
        temporalLayer: layers?.temporalLayer ?? null,
      }),
    );
    return { consumer, owner: found.owner, source: found.track.source };
  }

  async setConsumerPaused(participant: Participant, consumerId: string, paused: boolean): Promise<void> {
    const consumer = participant.consumer(consumerId);
    await clientCall(paused ? 'pauseConsumer' : 'resumeConsumer', () => (paused ? consumer.pause() : consumer.resume()));
  }

  async setPreferredLayers(participant: Participant, consumerId: string, layers: types.ConsumerLayers): Promise<void> {
    const consumer = participant.consumer(consumerId);
    await clientCall('setPreferredLayers', () => preferLayers(consumer, layers));
  }

  /**
   * Where `participant` receives media. In fan-out rooms the audience (everyone whose role does not
   * publish) is placed on viewer routers across the workers; presenters stay on the origin router.
   */
  async receiveHome(participant: Participant): Promise<MediaHome> {
    const fanOut = this.#room.fanOut;
    if (!fanOut || participant.publishesByRole) return this.#origin();
    if (!this.#watchingFanOut) {
      this.#watchingFanOut = true;
      fanOut.on('routerClosed', (router) => this.#dropPlacementsOn(router));
    }
    let placement = this.#placements.get(participant.id);
    // A seat on a router that is gone (its worker died) is no seat: place this viewer anew.
    if (placement?.home.router.closed) {
      this.#placements.delete(participant.id);
      placement = undefined;
    }
    if (!placement) {
      placement = await fanOut.place(this.#room.producerInfos(participant).length);
      // Left while being placed: give the seat back rather than keep it for no one.
      if (participant.closed) {
        fanOut.release(placement);
        throw wrongState('you are no longer in this room');
      }
      this.#placements.set(participant.id, placement);
    }
    return placement.home;
  }

  /** The participant left: their seat on a viewer router is free again. */
  release(participant: Participant): void {
    const placement = this.#placements.get(participant.id);
    if (!placement) return;
    this.#placements.delete(participant.id);
    this.#room.fanOut?.release(placement);
  }

  /** A viewer router closed: its viewers get a new seat at their next receive transport or consume. */
  #dropPlacementsOn(router: types.Router): void {
    for (const [participantId, placement] of this.#placements) if (placement.home.router === router) this.#placements.delete(participantId);
  }

  #origin(): MediaHome {
    const room = this.#room;
    return { router: room.router, webRtcServer: room.webRtcServer, workerIndex: room.workerIndex };
  }
}
