/**
 * The handler table: one entry per protocol request, each declaring the connection states it is
 * accepted in and the permission it needs (see dispatcher.ts). A request without an entry does not
 * compile. To find the code of a request: its entry here → its handler file → the room core method
 * it calls (server/rooms).
 */
import type { HandlerTable } from '../dispatcher.js';
import { broadcastHandlers } from './broadcast.js';
import { chatHandlers } from './chat.js';
import { ingestHandlers } from './ingest.js';
import { mediaHandlers } from './media.js';
import { moderationHandlers } from './moderation.js';
import { preflightHandlers } from './preflight.js';
import { recordingHandlers } from './recording.js';
import { roomHandlers } from './room.js';

export const HANDLERS: HandlerTable = {
  ...roomHandlers,
  ...mediaHandlers,
  ...moderationHandlers,
  ...chatHandlers,
  ...broadcastHandlers,
  ...recordingHandlers,
  ...preflightHandlers,
  ...ingestHandlers,
};
