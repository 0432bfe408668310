/** Recording into the case record: started and stopped by whoever holds `record`, acknowledged by all. */
import { joined, need, type HandlerTable } from '../dispatcher.js';

export const recordingHandlers = {
  startRecording: joined<'startRecording'>(need('record', 'start recording'), ({ me, room }) => room.caseRecord.start(me)),

  stopRecording: joined<'stopRecording'>(need('record', 'stop recording'), ({ me, room }) => {
    room.caseRecord.stop(me);
    return {};
  }),

  acknowledgeRecording: joined<'acknowledgeRecording'>(null, ({ me, room }, { sessionId }) => {
    room.caseRecord.acknowledge(me, sessionId);
    return {};
  }),
} satisfies Partial<HandlerTable>;
