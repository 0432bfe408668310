/** Transports, producers and consumers: the media half of a participant's session. */
import type { types } from 'mediasoup';
import type { Handler, HandlerContext, HandlerTable } from '../dispatcher.js';
import {
  badRequest,
  forbidden,
  ProtocolError,
  publishPermission,
  PUBLISH_PERMISSIONS,
  wrongState,
  type ConsumeResult,
  type MediaKind,
  type MediaSource,
} from '../protocol/index.js';
import { turnCredentials, type TurnSettings } from '../../server/media/turnCredentials.js';
import type { Participant } from '../../server/rooms/Participant.js';
import type { ProducerAppData } from '../../server/rooms/Room.js';

export interface MediaSettings {
  initialOutgoingBitrate: number;
  maxIncomingBitrate: number;
  turn: TurnSettings | undefined;
}

interface TransportAppData extends types.AppData {
  direction: 'send' | 'recv';
  /** Set by the first connectTransport: DTLS may start on its own once ICE completes, so dtlsState cannot tell. */
  connectCalled?: boolean;
}

/** Enough for a send and a receive transport, plus a spare during an ICE-less reconnect. */
const MAX_TRANSPORTS = 4;

const SOURCE_KIND: Record<MediaSource, MediaKind> = { microphone: 'audio', camera: 'video', screen: 'video' };

/** A source muted by a moderator stays muted until the moderator allows it, whatever the client sends. */
function ensureNotMuted(participant: Participant, source: MediaSource): void {
  if (source !== 'screen' && participant.mutedByModerator.has(source)) {
    throw forbidden(`your ${source} was muted by a moderator; ask them to allow you to unmute`);
  }
}

function direction(transport: types.WebRtcTransport): 'send' | 'recv' {
  return (transport.appData as TransportAppData).direction;
}

export function mediaHandlers(settings: MediaSettings) {
  const createTransport: Handler<'createTransport'> = async (ctx, { direction: dir, forceTcp }) => {
    const { participant, room } = ctx.session.joined();
    if (dir === 'send' && !PUBLISH_PERMISSIONS.some((p) => participant.can(p))) {
      throw forbidden(`a ${participant.info.role} does not publish media in a ${room.kind} room`);
    }
    if (participant.transportCount >= MAX_TRANSPORTS) throw new ProtocolError('TOO_MANY_REQUESTS', `at most ${MAX_TRANSPORTS} transports per participant`);
    // Sending always lands on the origin router; receiving where the room placed this participant.
    const home = dir === 'send' ? { router: room.router, webRtcServer: room.webRtcServer } : await room.receiveHome(participant);
    const transport: types.WebRtcTransport<TransportAppData> = await home.router.createWebRtcTransport<TransportAppData>({
      webRtcServer: home.webRtcServer,
      enableUdp: !forceTcp,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: settings.initialOutgoingBitrate,
      appData: { direction: dir },
    });
    try {
      if (dir === 'send') await transport.setMaxIncomingBitrate(settings.maxIncomingBitrate);
      participant.addTransport(transport); // throws (and we close) if the participant left meanwhile
    } catch (error) {
      transport.close();
      throw error;
    }
    return {
      id: transport.id,
      iceServers: turnCredentials(settings.turn, participant.info.identity),
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  };

  const connectTransport: Handler<'connectTransport'> = async (ctx, { transportId, dtlsParameters }) => {
    const transport = ctx.session.joined().participant.transport(transportId);
    const appData = transport.appData as TransportAppData;
    if (appData.connectCalled) throw wrongState('transport already connected');
    appData.connectCalled = true;
    try {
      await transport.connect({ dtlsParameters });
    } catch (error) {
      appData.connectCalled = false; // a refused connect changes nothing: the client may try again
      throw error;
    }
    return {};
  };

  const restartIce: Handler<'restartIce'> = async (ctx, { transportId }) => {
    const transport = ctx.session.joined().participant.transport(transportId);
    return { iceParameters: await transport.restartIce() };
  };

  const produce: Handler<'produce'> = async (ctx, { transportId, kind, source, rtpParameters, paused }) => {
    const { participant, room } = ctx.session.joined();
    if (!participant.permissions.has(publishPermission(source))) {
      throw forbidden(`a ${participant.info.role} may not publish ${source} in a ${room.kind} room`);
    }
    if (SOURCE_KIND[source] !== kind) throw badRequest(`${source} must be ${SOURCE_KIND[source]}, not ${kind}`);
    if (participant.hasSource(source)) throw wrongState(`${source} is already published; close it first`);
    ensureNotMuted(participant, source);
    const transport = participant.transport(transportId);
    if (direction(transport) !== 'send') throw badRequest('produce needs a send transport');
    const producer = await transport.produce<ProducerAppData>({
      kind,
      rtpParameters: rtpParameters as types.RtpParameters,
      paused: paused ?? false,
      appData: { participantId: participant.id, source },
      // A large audience must not flood the presenter's encoder with key-frame requests.
      ...(room.fanOut && kind === 'video' ? { keyFrameRequestDelay: room.options.keyFrameRequestDelayMs } : {}),
    });
    // A moderator may have muted this source, or the participant left, while the producer was made.
    if (participant.closed || (source !== 'screen' && participant.mutedByModerator.has(source))) {
      producer.close();
      if (participant.closed) throw wrongState('you left the room');
      ensureNotMuted(participant, source);
    }
    room.publish(participant, producer, source);
    return { producerId: producer.id };
  };

  const closeProducer: Handler<'closeProducer'> = (ctx, { producerId }) => {
    ctx.session.joined().participant.producer(producerId).producer.close();
    return {};
  };

  const setProducerPaused = (paused: boolean) => async (ctx: HandlerContext, { producerId }: { producerId: string }) => {
    const { participant, room } = ctx.session.joined();
    const { producer, source } = participant.producer(producerId);
    if (!paused) ensureNotMuted(participant, source);
    if (paused) await producer.pause();
    else {
      await producer.resume();
      // A mute that landed during the resume wins.
      if (source !== 'screen' && participant.mutedByModerator.has(source)) {
        await producer.pause();
        ensureNotMuted(participant, source);
      }
    }
    room.notifyOthers(participant, paused ? 'producerPaused' : 'producerResumed', { producerId, participantId: participant.id });
    return {};
  };

  const consume: Handler<'consume'> = async (ctx, { producerId, transportId }) => {
    const { participant, room } = ctx.session.joined();
    const found = room.findProducer(producerId);
    if (!found) throw new ProtocolError('NOT_FOUND', `producer ${producerId} is not in this room (it may have just closed)`);
    if (found.owner === participant) throw badRequest('cannot consume your own producer');
    const transport = participant.transport(transportId);
    if (direction(transport) !== 'recv') throw badRequest('consume needs a receive transport');
    const home = await room.receiveHome(participant);
    // In a fan-out room the track is piped to the viewer's router first (same id across workers).
    const localId = room.fanOut ? await room.fanOut.localProducerId(home.router, producerId) : producerId;
    const rtpCapabilities = participant.rtpCapabilities;
    if (!rtpCapabilities || !home.router.canConsume({ producerId: localId, rtpCapabilities })) {
      throw badRequest('your device cannot receive this track (no common codec)');
    }
    // Paused until the client says it is ready, so the first packets are not lost before it listens.
    const consumer = await transport.consume({ producerId: localId, rtpCapabilities, paused: true });
    try {
      participant.addConsumer(consumer);
      // Shared imaging and lab reports matter more than faces: when bandwidth is short, the screen
      // keeps its layers longest. (Audio consumers are always forwarded; only video layers adapt.)
      if (found.track.source === 'screen') await consumer.setPriority(2);
    } catch (error) {
      consumer.close();
      throw error;
    }
    if (room.fanOut && participant.placement) room.fanOut.track(participant.placement, consumer);
    consumer.on('producerclose', () => participant.notify('consumerClosed', { consumerId: consumer.id, producerId }));
    consumer.on('layerschange', (layers) =>
      participant.notify('consumerLayersChanged', { consumerId: consumer.id, spatialLayer: layers?.spatialLayer ?? null, temporalLayer: layers?.temporalLayer ?? null }),
    );
    return {
      id: consumer.id,
      producerId,
      participantId: found.owner.id,
      kind: consumer.kind,
      source: found.track.source,
      // mediasoup's header-extension URIs are a superset of mediasoup-client's types (toffset); see room.ts.
      rtpParameters: consumer.rtpParameters as ConsumeResult['rtpParameters'],
      producerPaused: consumer.producerPaused,
    };
  };

  const setConsumerPaused = (paused: boolean) => async (ctx: HandlerContext, { consumerId }: { consumerId: string }) => {
    const consumer = ctx.session.joined().participant.consumer(consumerId);
    if (paused) await consumer.pause();
    else await consumer.resume();
    return {};
  };

  const setPreferredLayers: Handler<'setPreferredLayers'> = async (ctx, { consumerId, spatialLayer, temporalLayer }) => {
    const consumer = ctx.session.joined().participant.consumer(consumerId);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') throw badRequest('this track has no layers to choose from');
    await consumer.setPreferredLayers(temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer });
    return {};
  };

  return {
    createTransport,
    connectTransport,
    restartIce,
    produce,
    closeProducer,
    pauseProducer: setProducerPaused(true),
    resumeProducer: setProducerPaused(false),
    consume,
    resumeConsumer: setConsumerPaused(false),
    pauseConsumer: setConsumerPaused(true),
    setPreferredLayers,
  } satisfies Partial<HandlerTable>;
}
