/** Recording into the case record: started and stopped by whoever holds `record`, acknowledged by all. */
import type { CaseRecordService } from '../../records/CaseRecordService.js';
import type { Handler, HandlerTable } from '../dispatcher.js';

export function recordingHandlers(records: CaseRecordService) {
  const startRecording: Handler<'startRecording'> = (ctx) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('record', 'start recording');
    return records.recordOf(room).start(me);
  };

  const stopRecording: Handler<'stopRecording'> = (ctx) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('record', 'stop recording');
    records.recordOf(room).stop(me);
    return {};
  };

  const acknowledgeRecording: Handler<'acknowledgeRecording'> = (ctx, { sessionId }) => {
    const { participant: me, room } = ctx.session.joined();
    records.recordOf(room).acknowledge(me, sessionId);
    return {};
  };

  return { startRecording, stopRecording, acknowledgeRecording } satisfies Partial<HandlerTable>;
}
