/**
 * The chair's tools: lock the room and admit from the lobby, mute, stop a screen share, remove, lower
 * hands, end the consultation (chat is in chat.ts). Every action is checked against the permission table, told to whom it
 * concerns and written to the audit trail by the room.
 */
import type { Participant } from '../../rooms/Participant.js';
import { actorOf, type Room } from '../../rooms/Room.js';
import type { Handler, HandlerContext, HandlerTable } from '../dispatcher.js';
import { badRequest, notFound } from '../../../signaling/protocol/index.js';

function moderator(ctx: HandlerContext, what: string): { me: Participant; room: Room } {
  const { participant: me, room } = ctx.session.joined();
  me.ensure('moderate', what);
  return { me, room };
}

function target(room: Room, participantId: string): Participant {
  const participant = room.participant(participantId);
  if (!participant) throw notFound('that participant is not in this room (they may have just left)');
  return participant;
}

export function moderationHandlers() {
  const setRoomLocked: Handler<'setRoomLocked'> = (ctx, { locked }) => {
    const { me, room } = moderator(ctx, 'lock or unlock the room');
    room.setLocked(locked, me);
    return {};
  };

  const admit: Handler<'admit'> = (ctx, { participantId }) => {
    const { me, room } = moderator(ctx, 'admit people from the lobby');
    room.admitFromLobby(participantId, me);
    return {};
  };

  const decline: Handler<'decline'> = (ctx, { participantId }) => {
    const { me, room } = moderator(ctx, 'decline people in the lobby');
    room.declineFromLobby(participantId, me);
    return {};
  };

  /** Server-side pause: the participant cannot resume or re-publish that source until allowed. */
  const muteParticipant: Handler<'muteParticipant'> = async (ctx, { participantId, source }) => {
    const { me, room } = moderator(ctx, 'mute others');
    const who = target(room, participantId);
    // Marked first, so a resume or produce of that source racing with us sees it and gives up.
    const newly = !who.mutedByModerator.has(source);
    who.mutedByModerator.add(source);
    try {
      for (const { producer } of who.producersOf(source)) {
        const wasPaused = producer.paused;
        // Always pause: a resume in flight may not have flipped `paused` yet; the worker orders both.
        await producer.pause();
        if (!wasPaused) room.notifyOthers(who, 'producerPaused', { producerId: producer.id, participantId: who.id });
      }
    } catch (error) {
      if (newly) who.mutedByModerator.delete(source);
      throw error;
    }
    who.notify('mutedByModerator', { source, by: actorOf(me) });
    room.audit('muted', me, who, { source });
    return {};
  };

  const allowUnmute: Handler<'allowUnmute'> = (ctx, { participantId, source }) => {
    const { me, room } = moderator(ctx, 'allow others to unmute');
    const who = target(room, participantId);
    if (!who.mutedByModerator.delete(source)) throw badRequest(`${who.info.displayName}'s ${source} is not muted by a moderator`);
    who.notify('unmuteAllowed', { source, by: actorOf(me) });
    room.audit('unmute_allowed', me, who, { source });
    return {};
  };

  const stopScreenShare: Handler<'stopScreenShare'> = (ctx, { participantId }) => {
    const { me, room } = moderator(ctx, "stop others' screen sharing");
    const who = target(room, participantId);
    const screens = who.producersOf('screen');
    if (screens.length === 0) throw badRequest(`${who.info.displayName} is not sharing a screen`);
    for (const { producer } of screens) {
      producer.close();
      who.notify('ownProducerClosed', { producerId: producer.id, source: 'screen', by: actorOf(me) });
    }
    room.audit('screen_share_stopped', me, who);
    return {};
  };

  const removeParticipant: Handler<'removeParticipant'> = (ctx, { participantId }) => {
    const { me, room } = moderator(ctx, 'remove others');
    const who = target(room, participantId);
    if (who === me) throw badRequest('use leave to leave the room yourself');
    room.audit('removed', me, who);
    room.remove(who, 'removed', `${me.info.displayName} removed you from this consultation`, true);
    return {};
  };

  const endRoom: Handler<'endRoom'> = (ctx) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('end_room', 'end the consultation');
    room.close('room_ended', `${me.info.displayName} ended the consultation`, me);
    return {};
  };

  const setHandRaised: Handler<'setHandRaised'> = (ctx, { raised, participantId }) => {
    const { participant: me, room } = ctx.session.joined();
    if (participantId === undefined || participantId === me.id) {
      me.ensure('raise_hand', 'raise a hand');
      room.setHandRaised(me, raised, me);
      return {};
    }
    if (raised) throw badRequest('you can only raise your own hand');
    me.ensure('moderate', "lower others' hands");
    room.setHandRaised(target(room, participantId), false, me);
    return {};
  };

  return {
    setRoomLocked,
    admit,
    decline,
    muteParticipant,
    allowUnmute,
    stopScreenShare,
    removeParticipant,
    endRoom,
    setHandRaised,
  } satisfies Partial<HandlerTable>;
}
