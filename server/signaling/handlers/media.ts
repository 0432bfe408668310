/** Transports, producers and consumers: the media half of a participant's session (rules in RoomMedia). */
import type { types } from 'mediasoup';
import { publishPermission, PUBLISH_PERMISSIONS } from '../../../signaling/protocol/index.js';
import { joined, type HandlerTable } from '../dispatcher.js';
import { consumeResult, transportOptions } from './mediaWire.js';

export const mediaHandlers = {
  createTransport: joined<'createTransport'>(
    ({ direction }) => (direction === 'send' ? { anyOf: PUBLISH_PERMISSIONS, what: 'publish media' } : null),
    async ({ me, room, services }, { direction, forceTcp }) => {
      const transport = await room.media.createTransport(me, direction, forceTcp ?? false);
      return transportOptions(transport, services, me.info.identity);
    },
  ),

  connectTransport: joined<'connectTransport'>(null, async ({ me, room }, { transportId, dtlsParameters }) => {
    await room.media.connectTransport(me, transportId, dtlsParameters as types.DtlsParameters);
    return {};
  }),

  restartIce: joined<'restartIce'>(null, async ({ me, room }, { transportId }) => ({
    iceParameters: await room.media.restartIce(me, transportId),
  })),

  closeTransport: joined<'closeTransport'>(null, ({ me, room }, { transportId }) => {
    room.media.closeTransport(me, transportId);
    return {};
  }),

  produce: joined<'produce'>(
    ({ source }) => ({ anyOf: [publishPermission(source)], what: `publish ${source}` }),
    async ({ me, room }, request) => {
      const producer = await room.media.produce(me, { ...request, rtpParameters: request.rtpParameters as types.RtpParameters });
      return { producerId: producer.id };
    },
  ),

  closeProducer: joined<'closeProducer'>(null, ({ me, room }, { producerId }) => {
    room.media.closeProducer(me, producerId);
    return {};
  }),

  pauseProducer: joined<'pauseProducer'>(null, async ({ me, room }, { producerId }) => {
    await room.media.setProducerPaused(me, producerId, true);
    return {};
  }),

  resumeProducer: joined<'resumeProducer'>(null, async ({ me, room }, { producerId }) => {
    await room.media.setProducerPaused(me, producerId, false);
    return {};
  }),

  consume: joined<'consume'>(null, async ({ me, room }, { producerId, transportId }) =>
    consumeResult(producerId, await room.media.consume(me, producerId, transportId)),
  ),

  resumeConsumer: joined<'resumeConsumer'>(null, async ({ me, room }, { consumerId }) => {
    await room.media.setConsumerPaused(me, consumerId, false);
    return {};
  }),

  pauseConsumer: joined<'pauseConsumer'>(null, async ({ me, room }, { consumerId }) => {
    await room.media.setConsumerPaused(me, consumerId, true);
    return {};
  }),

  setPreferredLayers: joined<'setPreferredLayers'>(null, async ({ me, room }, { consumerId, spatialLayer, temporalLayer }) => {
    await room.media.setPreferredLayers(me, consumerId, temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer });
    return {};
  }),
} satisfies Partial<HandlerTable>;
