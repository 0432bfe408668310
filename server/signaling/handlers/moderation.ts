/**
 * The chair's tools: lock the room and admit from the lobby, mute, stop a screen share, remove, hands,
 * end the consultation. The rules, notifications and audit entries are the room's (Room, Moderation).
 */
import { joined, need, type HandlerTable } from '../dispatcher.js';

export const moderationHandlers = {
  setRoomLocked: joined<'setRoomLocked'>(need('moderate', 'lock or unlock the room'), ({ me, room }, { locked }) => {
    room.setLocked(locked, me);
    return {};
  }),

  admit: joined<'admit'>(need('moderate', 'admit people from the lobby'), ({ me, room }, { participantId }) => {
    room.admitFromLobby(participantId, me);
    return {};
  }),

  decline: joined<'decline'>(need('moderate', 'decline people in the lobby'), ({ me, room }, { participantId }) => {
    room.declineFromLobby(participantId, me);
    return {};
  }),

  muteParticipant: joined<'muteParticipant'>(need('moderate', 'mute others'), async ({ me, room }, { participantId, source }) => {
    await room.moderation.mute(room.target(participantId), source, me);
    return {};
  }),

  allowUnmute: joined<'allowUnmute'>(need('moderate', 'allow others to unmute'), ({ me, room }, { participantId, source }) => {
    room.moderation.allowUnmute(room.target(participantId), source, me);
    return {};
  }),

  stopScreenShare: joined<'stopScreenShare'>(need('moderate', "stop others' screen sharing"), ({ me, room }, { participantId }) => {
    room.moderation.stopScreenShare(room.target(participantId), me);
    return {};
  }),

  removeParticipant: joined<'removeParticipant'>(need('moderate', 'remove others'), ({ me, room }, { participantId }) => {
    room.moderation.remove(room.target(participantId), me);
    return {};
  }),

  endRoom: joined<'endRoom'>(need('end_room', 'end the consultation'), ({ me, room }) => {
    room.end(me);
    return {};
  }),

  /** One's own hand needs `raise_hand`; lowering someone else's needs `moderate`. */
  setHandRaised: joined<'setHandRaised'>(
    ({ raised, participantId }, me) =>
      participantId === undefined || participantId === me.id
        ? need('raise_hand', 'raise a hand')
        : raised
          ? null
          : need('moderate', "lower others' hands"),
    ({ me, room }, { raised, participantId }) => {
      room.setHandRaised(participantId === undefined ? me : room.target(participantId), raised, me);
      return {};
    },
  ),
} satisfies Partial<HandlerTable>;
