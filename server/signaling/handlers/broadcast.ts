/**
 * Broadcast and training audiences: written questions, their moderation, the stage (a temporary
 * publish grant for a viewer or trainee), and HLS output for audiences beyond WebRTC.
 */
import { wrongState } from '../../../signaling/protocol/index.js';
import { joined, need, type HandlerTable } from '../dispatcher.js';

export const broadcastHandlers = {
  askQuestion: joined<'askQuestion'>(need('ask_question', 'ask questions'), ({ me, room }, { text }) => ({
    question: room.audience.ask(me, text),
  })),

  updateQuestion: joined<'updateQuestion'>(need('manage_questions', 'manage questions'), ({ me, room }, { questionId, status }) => ({
    question: room.audience.update(me, questionId, status),
  })),

  setOnStage: joined<'setOnStage'>(need('moderate', 'bring people on stage'), ({ me, room }, { participantId, onStage }) => {
    room.audience.setOnStage(room.target(participantId), onStage, me);
    return {};
  }),

  startHls: joined<'startHls'>(need('moderate', 'start HLS output'), async ({ me, room, services }) => {
    if (room.kind !== 'broadcast' && room.kind !== 'training') throw wrongState('HLS output is for broadcasts and training sessions');
    return { url: await services.hls.start(room, me) };
  }),

  stopHls: joined<'stopHls'>(need('moderate', 'stop HLS output'), async ({ me, room, services }) => {
    await services.hls.stop(room, me);
    return {};
  }),
} satisfies Partial<HandlerTable>;
