/** Room chat: part of the consultation record (audited), replayed to late joiners, rate limited. */
import { joined, need, type HandlerTable } from '../dispatcher.js';

export const chatHandlers = {
  sendChat: joined<'sendChat'>(need('chat', 'send chat messages'), ({ me, room }, { text }) => ({ message: room.postChat(me, text) })),
} satisfies Partial<HandlerTable>;
