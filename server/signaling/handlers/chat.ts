/**
 * Room chat: part of the consultation record (audited), rate limited. A joiner gets the latest
 * messages; `chatHistory` pages older ones for anyone in the room — whoever is shown the chat as it
 * happens may read back in it, so it needs no permission beyond being in the room (broadcast viewers
 * read the chat without the `chat` permission to write in it).
 */
import { joined, need, type HandlerTable } from '../dispatcher.js';

/** Messages per page when the client does not say. */
const DEFAULT_PAGE = 50;

export const chatHandlers = {
  sendChat: joined<'sendChat'>(need('chat', 'send chat messages'), ({ me, room }, { text }) => ({ message: room.postChat(me, text) })),

  chatHistory: joined<'chatHistory'>(null, ({ room }, { before, limit }) => room.chat.page(before, limit ?? DEFAULT_PAGE)),
} satisfies Partial<HandlerTable>;
