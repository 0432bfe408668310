/**
 * How transports and consumers are described to a client: one place, used by `createTransport` and
 * `consume` and by a `join` that receives at once, so the three answers cannot drift apart.
 */
import type { types } from 'mediasoup';
import type { ConsumeResult, MediaSource, ResponseMap, TransportOptions } from '../../../signaling/protocol/index.js';
import { turnCredentials } from '../../media/turnCredentials.js';
import type { Participant } from '../../rooms/Participant.js';
import type { Room } from '../../rooms/Room.js';
import type { SignalingServices } from '../dispatcher.js';
import type { PreparedReceive } from '../PreparedReceive.js';

/** mediasoup 3.27's types list a header extension (toffset) that mediasoup-client 3.24's do not; the SDK takes any URI. */
type WireCapabilities = ResponseMap['getRouterRtpCapabilities']['rtpCapabilities'];

/** The node's router capabilities as sent to clients (pushed on connecting, or asked for). */
export function routerCapabilities(services: Pick<SignalingServices, 'routerCapabilities'>): WireCapabilities {
  return services.routerCapabilities as WireCapabilities;
}

/** `identity`: whose TURN credentials go with it (the token's subject). */
export function transportOptions(transport: types.WebRtcTransport, services: SignalingServices, identity: string): TransportOptions {
  return {
    id: transport.id,
    iceServers: turnCredentials(services.turn, identity),
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}

export function consumeResult(
  producerId: string,
  made: { consumer: types.Consumer; owner: Participant; source: MediaSource },
): ConsumeResult {
  const { consumer, owner, source } = made;
  return {
    id: consumer.id,
    producerId,
    participantId: owner.id,
    kind: consumer.kind,
    source,
    // mediasoup's header-extension URIs are a superset of mediasoup-client's types (toffset); see room.ts.
    rtpParameters: consumer.rtpParameters as ConsumeResult['rtpParameters'],
    producerPaused: consumer.producerPaused,
  };
}

/**
 * The receive transport and a paused consumer for each track `me` is shown on joining. A track that
 * cannot be consumed here (it closed meanwhile, no common codec) is left out: the client subscribes to
 * it the usual way and gets the usual error. The transport is the one the connection prepared before
 * the join if it named it and it can still serve (see PreparedReceive), else a new one.
 */
export async function receiveOnJoin(
  room: Room,
  me: Participant,
  producerIds: string[],
  services: SignalingServices,
  options: { forceTcp: boolean; prepared?: PreparedReceive | undefined },
): Promise<{ transport: TransportOptions; consumers: ConsumeResult[] }> {
  const { prepared } = options;
  let transport: types.WebRtcTransport;
  if (prepared?.usableIn(room)) {
    try {
      room.media.adoptPrepared(me, prepared.transport);
    } catch (error) {
      prepared.close(); // not left to its timer
      throw error;
    }
    transport = prepared.adopted();
  } else {
    prepared?.close();
    transport = await room.media.createTransport(me, 'recv', options.forceTcp);
  }
  const made = await Promise.allSettled(producerIds.map((id) => room.media.consume(me, id, transport.id)));
  const consumers = made.flatMap((r, i) => (r.status === 'fulfilled' ? [consumeResult(producerIds[i]!, r.value)] : []));
  return { transport: transportOptions(transport, services, me.info.identity), consumers };
}
