/** Entering, resuming and leaving a room. */
import type { types } from 'mediasoup';
import { Participant } from '../../server/rooms/Participant.js';
import { checkEntry } from '../../server/rooms/policy.js';
import type { Room } from '../../server/rooms/Room.js';
import type { Handler, HandlerContext, HandlerTable } from '../dispatcher.js';
import { forbidden, notFound, wrongState, type ResponseMap } from '../protocol/index.js';

export function roomHandlers(routerCapabilities: types.RtpCapabilities) {
  // mediasoup 3.27's types list a header extension (toffset) that mediasoup-client 3.24's do not; the SDK takes any URI.
  const wireCapabilities = routerCapabilities as ResponseMap['getRouterRtpCapabilities']['rtpCapabilities'];
  const getRouterRtpCapabilities: Handler<'getRouterRtpCapabilities'> = () => ({ rtpCapabilities: wireCapabilities });

  const join: Handler<'join'> = async (ctx, { rtpCapabilities, roomId }) => {
    const { session, rooms } = ctx;
    if (session.joinedState && !session.joinedState.participant.closed) throw wrongState('already joined; leave first');
    const p = session.principal;
    if (roomId !== undefined && roomId !== p.room) throw forbidden(`this access token is for room ${p.room}, not ${roomId}`);
    checkEntry(p);
    const desc = { id: p.room, kind: p.kind, caseId: p.caseId };
    let room = await rooms.getOrCreate(desc);
    // The room may have closed (its last participant left) while we waited for it: open it anew.
    if (room.closed) room = await rooms.getOrCreate(desc);
    const participant = new Participant(p, ctx.channel);
    participant.setRtpCapabilities(rtpCapabilities as types.RtpCapabilities);
    const status = room.enter(participant);
    bind(ctx, participant, room);
    return status === 'joined' ? { status, ...room.snapshotFor(participant) } : { status, self: participant.info };
  };

  const resume: Handler<'resume'> = (ctx, { participantId, resumeToken }) => {
    const { session, rooms } = ctx;
    if (session.joinedState && !session.joinedState.participant.closed) throw wrongState('this connection already has a participant');
    const room = rooms.get(session.principal.room);
    const participant = room?.participant(participantId);
    // One answer for "no such participant" and "not yours": a guess reveals nothing.
    if (!room || !participant || participant.info.identity !== session.principal.sub || !participant.matchesResumeToken(resumeToken)) {
      throw notFound('no session to resume (the grace period may have passed); join again');
    }
    const snapshot = room.resume(participant, ctx.channel);
    bind(ctx, participant, room);
    return snapshot;
  };

  const leave: Handler<'leave'> = (ctx) => {
    const joined = ctx.session.joinedState;
    if (joined) joined.room.remove(joined.participant, 'left');
    return {};
  };

  return { getRouterRtpCapabilities, join, resume, leave } satisfies Partial<HandlerTable>;
}

/** Ties the participant to this socket's session until it closes. */
function bind(ctx: HandlerContext, participant: Participant, room: Room): void {
  const { session } = ctx;
  session.setJoined({ participant, room });
  participant.once('closed', () => {
    if (session.joinedState?.participant === participant) session.setJoined(undefined);
  });
}
