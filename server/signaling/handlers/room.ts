/** Entering, resuming and leaving a room. */
import type { types } from 'mediasoup';
import { forbidden, notFound, permissionsFor } from '../../../signaling/protocol/index.js';
import { inStates, type HandlerTable } from '../dispatcher.js';
import { PreparedReceive, preparedForJoin } from '../PreparedReceive.js';
import { preparedTrack, receiveOnJoin, routerCapabilities, transportOptions } from './mediaWire.js';

export const roomHandlers = {
  getRouterRtpCapabilities: inStates(['none', 'waiting', 'joined'], (ctx) => ({
    rtpCapabilities: routerCapabilities(ctx.services),
  })),

  join: inStates(['none'], async (ctx, { rtpCapabilities, roomId, receive }) => {
    const { session } = ctx;
    session.requireLiveToken();
    const principal = session.principal;
    if (roomId !== undefined && roomId !== principal.room)
      throw forbidden(`this access token is for room ${principal.room}, not ${roomId}`);
    const prepared = preparedForJoin(session, receive?.transportId);
    const { room, participant, status } = await ctx.rooms
      .enter(principal, ctx.channel, rtpCapabilities as types.RtpCapabilities)
      .catch((error: unknown) => {
        prepared?.close();
        throw error;
      });
    session.bind(participant, room);
    if (status !== 'joined' || !receive) prepared?.close();
    if (status !== 'joined') return { status, self: participant.info };
    if (!receive) return { status, ...room.snapshotFor(participant) };
    const producerIds = room.producerInfos(participant).map((p) => p.id);
    // The join itself succeeded: if receiving at once fails, the client receives the usual way.
    const early = await receiveOnJoin(room, participant, producerIds, ctx.services, {
      forceTcp: receive.forceTcp ?? false,
      prepared,
      wired: new Set(receive.wired),
    }).catch((error: unknown) => void ctx.log.warn({ err: error }, 'receiving within the join failed; the client will ask again'));
    // Taken last: the participant was told of the room's changes from the moment it entered, so a
    // camera published or a person come while the transport and consumers were made was announced
    // before this answer — the client takes the answer as the room's state, so it must be in it.
    const snapshot = room.snapshotFor(participant);
    return early ? { status, ...snapshot, receive: early } : { status, ...snapshot };
  }),

  prepareReceive: inStates(['none'], async ({ session, rooms, services }, { forceTcp, rtpCapabilities }) => {
    session.requireLiveToken();
    const principal = session.principal;
    // Only where the room is open already (nothing to receive otherwise: the join makes its own),
    // and refused as the join would be (another case, a role the room does not take).
    const room = rooms.openFor(principal);
    // A room closing meanwhile (its router gone) prepares nothing either: the join will do as usual.
    const transport = await room?.media.prepareReceive(forceTcp ?? false).catch(() => undefined);
    if (!room || !transport) return { transport: null };
    const prepared = new PreparedReceive(transport, room);
    session.holdPrepared(prepared);
    // The room's tracks too, paused, for someone the room would let in now: whoever the lobby would
    // hold learns nothing of what the room sends. Not whose they are either: that comes with the join.
    const letIn = room.admitsAtOnce(principal.sub, permissionsFor(principal.kind, principal.role).has('bypass_lobby'));
    if (rtpCapabilities && letIn) {
      const caps = rtpCapabilities as types.RtpCapabilities;
      const tracks = await room.media.prepareTracks(transport, caps, principal.sub).catch(() => []);
      // A join (or another prepareReceive) that came meanwhile took or closed the transport without them.
      if (session.prepared === prepared) prepared.tracks = tracks;
      else for (const consumer of tracks) consumer.close();
    }
    return { transport: transportOptions(transport, services, principal.sub), tracks: prepared.tracks.map(preparedTrack) };
  }),

  connectPrepared: inStates(['none'], async ({ session }, { transportId, dtlsParameters }) => {
    const prepared = session.prepared;
    if (!prepared || prepared.transport.id !== transportId || prepared.transport.closed)
      throw notFound(`no prepared receive transport ${transportId} on this connection`);
    await prepared.room.media.connectPrepared(prepared.transport, dtlsParameters as types.DtlsParameters);
    return {};
  }),

  resume: inStates(['none'], (ctx, { participantId, resumeToken }) => {
    const { room, participant, snapshot } = ctx.rooms.resume(ctx.session.principal, participantId, resumeToken, ctx.channel);
    ctx.session.bind(participant, room);
    return snapshot;
  }),

  leave: inStates(['none', 'waiting', 'joined'], (ctx) => {
    const current = ctx.session.current;
    if (current) current.room.remove(current.participant, 'left');
    return {};
  }),
} satisfies Partial<HandlerTable>;
