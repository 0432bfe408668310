/**
 * Broadcast and training audiences: written questions, their moderation, the stage (a temporary
 * publish grant for a viewer or trainee), and HLS output for audiences beyond WebRTC.
 */
import type { HlsService } from '../../media/HlsService.js';
import type { Handler, HandlerTable } from '../dispatcher.js';
import { notFound, wrongState } from '../../../signaling/protocol/index.js';

export function broadcastHandlers(hls: HlsService) {
  const askQuestion: Handler<'askQuestion'> = (ctx, { text }) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('ask_question', 'ask questions');
    return { question: room.audience.ask(me, text) };
  };

  const updateQuestion: Handler<'updateQuestion'> = (ctx, { questionId, status }) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('manage_questions', 'manage questions');
    return { question: room.audience.update(me, questionId, status) };
  };

  const setOnStage: Handler<'setOnStage'> = (ctx, { participantId, onStage }) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('moderate', 'bring people on stage');
    const target = room.participant(participantId);
    if (!target) throw notFound('that participant is not in this room (they may have just left)');
    room.audience.setOnStage(target, onStage, me);
    return {};
  };

  const startHls: Handler<'startHls'> = async (ctx) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('moderate', 'start HLS output');
    if (room.kind !== 'broadcast' && room.kind !== 'training') throw wrongState('HLS output is for broadcasts and training sessions');
    return { url: await hls.start(room, me) };
  };

  const stopHls: Handler<'stopHls'> = async (ctx) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('moderate', 'stop HLS output');
    await hls.stop(room, me);
    return {};
  };

  return { askQuestion, updateQuestion, setOnStage, startHls, stopHls } satisfies Partial<HandlerTable>;
}
