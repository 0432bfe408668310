/**
 * The SDK's chat as the join answer and `chatHistory` pages build it (RoomModel, no browser): the
 * latest messages first, older pages put in front in order, nothing twice, and a resume that does not
 * pretend the older messages are gone.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage, JoinResult } from '../../signaling/protocol/index.js';
import { RoomModel } from '../../client-sdk/src/RoomModel.js';

function message(n: number): ChatMessage {
  return {
    id: `m${n}`,
    participantId: 'p-wang',
    displayName: '王芳',
    role: 'lead_specialist',
    siteName: '省肿瘤医院',
    text: `第${n}条`,
    at: new Date(Date.UTC(2026, 0, 17, 9, 0, n)).toISOString(),
  };
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => message(from + i));

function snapshot(chat: ChatMessage[], chatHasMore: boolean): JoinResult {
  return { participants: [], raisedHands: [], lineQuality: [], roomLocked: false, chat, chatHasMore } as unknown as JoinResult;
}

describe('RoomModel chat paging', () => {
  it('starts from the latest messages and puts older pages in front, oldest first, without duplicates', () => {
    const model = new RoomModel();
    model.apply(snapshot(range(21, 30), true));
    expect(model.olderChat).toBe(true);
    expect(model.addOlderChat(range(11, 20), true).map((m) => m.id)).toEqual(range(11, 20).map((m) => m.id));
    // A page that overlaps what is known (a message arrived between two requests) adds only the new ones.
    expect(model.addOlderChat(range(5, 12), false).map((m) => m.id)).toEqual(range(5, 10).map((m) => m.id));
    expect(model.olderChat).toBe(false);
    expect(model.chat.map((m) => m.id)).toEqual(range(5, 30).map((m) => m.id));
  });

  it('a resume snapshot adds newer messages and leaves the older-messages flag as the pages left it', () => {
    const model = new RoomModel();
    model.apply(snapshot(range(21, 30), true));
    const diff = model.apply(snapshot(range(25, 34), true));
    expect(diff.newChat.map((m) => m.id)).toEqual(['m31', 'm32', 'm33', 'm34']);
    expect(model.olderChat).toBe(true);
    model.addOlderChat(range(1, 20), false);
    model.apply(snapshot(range(26, 35), true));
    expect(model.olderChat).toBe(false);
    expect(model.chat.map((m) => m.id)).toEqual(range(1, 35).map((m) => m.id));
  });
});
