/** What "the running room does not notice" means in the fault tests: a chat round trip and a moderator's mute. */
import { expect } from 'vitest';
import { ok, type TestClient } from './signalingClient.js';

/** The chair chats (round `round`), mutes the doctor (who is told) and allows the unmute again. */
export async function expectChatAndModeration(chair: TestClient, doctor: { client: TestClient; id: string }, round: number): Promise<void> {
  const text = `第${round}次讨论`;
  expect(ok(await chair.request('sendChat', { text })).message.text).toBe(text);
  const told = doctor.client.next('mutedByModerator', () => true, 3000);
  ok(await chair.request('muteParticipant', { participantId: doctor.id, source: 'microphone' }));
  await told;
  ok(await chair.request('allowUnmute', { participantId: doctor.id, source: 'microphone' }));
}
