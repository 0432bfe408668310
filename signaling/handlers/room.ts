/** Entering and leaving a room. */
import type { types } from 'mediasoup';
import { Participant } from '../../server/rooms/Participant.js';
import type { Handler, HandlerTable } from '../dispatcher.js';
import { forbidden, mayEnter, wrongState } from '../protocol/index.js';

export function roomHandlers(routerCapabilities: types.RtpCapabilities) {
  const getRouterRtpCapabilities: Handler<'getRouterRtpCapabilities'> = () => ({ rtpCapabilities: routerCapabilities });

  const join: Handler<'join'> = async (ctx, { rtpCapabilities, roomId }) => {
    const { session, rooms } = ctx;
    if (session.joinedState && !session.joinedState.participant.closed) throw wrongState('already joined; leave first');
    const p = session.principal;
    if (roomId !== undefined && roomId !== p.room) throw forbidden(`this access token is for room ${p.room}, not ${roomId}`);
    if (!mayEnter(p.kind, p.role)) throw forbidden(`the role ${p.role} cannot take part in a ${p.kind} room`);
    const desc = { id: p.room, kind: p.kind, caseId: p.caseId };
    let room = await rooms.getOrCreate(desc);
    // The room may have closed (its last participant left) while we waited for it: open it anew.
    if (room.closed) room = await rooms.getOrCreate(desc);
    const participant = new Participant(p, ctx.channel);
    participant.setRtpCapabilities(rtpCapabilities as types.RtpCapabilities);
    room.admit(participant);
    session.setJoined({ participant, room });
    participant.once('closed', () => {
      if (session.joinedState?.participant === participant) session.setJoined(undefined);
    });
    return {
      self: participant.info,
      permissions: [...participant.permissions],
      participants: room.participantInfos(participant),
      producers: room.producerInfos(participant),
      activeSpeakerId: room.activeSpeakerId,
    };
  };

  const leave: Handler<'leave'> = (ctx) => {
    const joined = ctx.session.joinedState;
    if (joined) joined.room.remove(joined.participant, 'left');
    return {};
  };

  return { getRouterRtpCapabilities, join, leave } satisfies Partial<HandlerTable>;
}
