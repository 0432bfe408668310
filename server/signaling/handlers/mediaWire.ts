/**
 * How transports and consumers are described to a client: one place, used by `createTransport` and
 * `consume` and by a `join` that receives at once, so the three answers cannot drift apart.
 */
import type { types } from 'mediasoup';
import type {
  ConsumeResult,
  JoinReceive,
  MediaSource,
  PreparedTrack,
  ResponseMap,
  TransportOptions,
} from '../../../signaling/protocol/index.js';
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

/** A track made ahead for a pre-join screen, as its client is told of it: the media, not whose. */
export function preparedTrack(consumer: types.Consumer): PreparedTrack {
  return {
    id: consumer.id,
    producerId: consumer.producerId,
    kind: consumer.kind,
    rtpParameters: consumer.rtpParameters as PreparedTrack['rtpParameters'], // as in consumeResult
  };
}

/**
 * The receive transport and a paused consumer for each track `me` is shown on joining. A track that
 * cannot be consumed here (it closed meanwhile, no common codec) is left out: the client subscribes to
 * it the usual way and gets the usual error. The transport is the one the connection prepared before
 * the join if it named it and it can still serve (see PreparedReceive), else a new one; on it, the
 * tracks made ahead are taken instead of new consumers, and those the client says it has `wired`
 * are resumed now — the first picture then waits only for the sender's key frame.
 */
export async function receiveOnJoin(
  room: Room,
  me: Participant,
  producerIds: string[],
  services: SignalingServices,
  options: { forceTcp: boolean; prepared?: PreparedReceive | undefined; wired: ReadonlySet<string> },
): Promise<JoinReceive> {
  const { prepared } = options;
  const transport = await receiveTransport(room, me, options.forceTcp, prepared);
  const ahead = transport === prepared?.transport ? prepared : undefined;
  const made = await Promise.allSettled(
    producerIds.map(async (producerId) => {
      const track = ahead?.takeTrack(producerId);
      if (!track) return room.media.consume(me, producerId, transport.id);
      const received = await room.media.adoptTrack(me, track);
      if (!options.wired.has(track.id)) return received;
      try {
        await room.media.setConsumerPaused(me, track.id, false);
      } catch (error) {
        track.close(); // not kept half-made: a track missing from the answer is subscribed to anew by the client
        throw error;
      }
      return received;
    }),
  );
  ahead?.closeUntaken();
  const consumers = made.flatMap((r, i) => (r.status === 'fulfilled' ? [consumeResult(producerIds[i]!, r.value)] : []));
  const resumed = made.flatMap((r) => (r.status === 'fulfilled' && !r.value.consumer.paused ? [r.value.consumer.id] : []));
  return { transport: transportOptions(transport, services, me.info.identity), consumers, resumed };
}

async function receiveTransport(
  room: Room,
  me: Participant,
  forceTcp: boolean,
  prepared: PreparedReceive | undefined,
): Promise<types.WebRtcTransport> {
  if (prepared?.usableIn(room)) {
    try {
      room.media.adoptPrepared(me, prepared.transport);
    } catch (error) {
      prepared.close(); // not left to its timer
      throw error;
    }
    return prepared.adopted();
  }
  prepared?.close();
  return room.media.createTransport(me, 'recv', forceTcp);
}
