/** Room chat: part of the consultation record (audited), replayed to late joiners, rate limited. */
import type { Handler, HandlerTable } from '../dispatcher.js';

export function chatHandlers() {
  const sendChat: Handler<'sendChat'> = (ctx, { text }) => {
    const { participant: me, room } = ctx.session.joined();
    me.ensure('chat', 'send chat messages');
    const message = room.chat.post(me.info, text);
    room.notifyOthers(me, 'chatMessage', { message });
    room.audit('chat', me, undefined, { messageId: message.id, text });
    return { message };
  };

  return { sendChat } satisfies Partial<HandlerTable>;
}
