/**
 * A chaired consultation over real signaling: lobby, mute that sticks, stopping a screen share,
 * removal that outlasts a reconnect, hands, chat limits and history, ending for all, and the audit
 * events each step leaves.
 */
import { describe, expect, it } from 'vitest';
import type { RoomAuditEvent } from '../../server/rooms/audit.js';
import type { JoinResult } from '../../signaling/protocol/index.js';
import { connect, connectAndJoin, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { startTestServer } from '../helpers/server.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

// Rooms here close the moment they empty (no linger): tests look at what a closed room leaves behind.
const env = useTestEnvironment({ env: { ROOM_EMPTY_LINGER_SECONDS: '0' } });

async function member(spec: TokenSpec): Promise<{ client: TestClient; self: JoinResult['self']; join: JoinResult }> {
  const { client, ack } = await connectAndJoin(env.server.url, token(spec));
  env.track(client);
  const joined = ok(ack);
  if (joined.status !== 'joined') throw new Error('expected to join directly');
  return { client, self: joined.self, join: joined };
}

function auditOf(room: string): RoomAuditEvent[] {
  const events: RoomAuditEvent[] = [];
  env.server.rooms.get(room)?.on('audit', (e) => events.push(e));
  return events;
}

async function publish(client: TestClient, source: 'microphone' | 'camera' | 'screen', ssrc: number): Promise<string> {
  const send = ok(await client.request('createTransport', { direction: 'send' }));
  const kind = source === 'microphone' ? 'audio' : 'video';
  return ok(await client.request('produce', { transportId: send.id, kind, source, rtpParameters: fakeRtpParameters(kind, ssrc) }))
    .producerId;
}

describe('lobby', () => {
  it('a locked room parks newcomers until the lead admits or declines them', async () => {
    const room = 'mod-lobby';
    const lead = await member({ room, role: 'lead_specialist', sub: 'lead', name: 'Prof. Zhao' });
    const audit = auditOf(room);
    ok(await lead.client.request('setRoomLocked', { locked: true }));

    const lobbyChanged = lead.client.next('lobbyChanged', (p) => p.waiting.length === 1);
    const clinic = await connectAndJoin(
      env.server.url,
      token({
        room,
        role: 'clinic_doctor',
        sub: 'clinic',
        name: 'Dr. Chen',
        site: { id: 'vc', name: 'Hongqi Village Clinic', level: 'village_clinic' },
      }),
    );
    env.track(clinic.client);
    const waiting = ok(clinic.ack);
    expect(waiting.status).toBe('waiting');
    expect((await lobbyChanged).waiting[0]).toMatchObject({
      displayName: 'Dr. Chen',
      role: 'clinic_doctor',
      site: { name: 'Hongqi Village Clinic' },
    });
    // Waiting means waiting: no media, no chat, and the others do not see them yet.
    expect(err(await clinic.client.request('createTransport', { direction: 'recv' })).code).toBe('WRONG_STATE');
    expect(err(await clinic.client.request('sendChat', { text: 'hi' })).code).toBe('WRONG_STATE');
    expect(env.server.rooms.get(room)?.size).toBe(1);

    const admitted = clinic.client.next('admitted');
    const joinedNote = lead.client.next('participantJoined');
    ok(await lead.client.request('admit', { participantId: waiting.self.id }));
    expect((await admitted).participants.map((p) => p.displayName)).toEqual(['Prof. Zhao']);
    expect((await joinedNote).participant.displayName).toBe('Dr. Chen');
    expect(ok(await clinic.client.request('createTransport', { direction: 'recv' })).id).toBeTruthy();

    const other = await connectAndJoin(env.server.url, token({ room, role: 'care_team', sub: 'nurse' }));
    env.track(other.client);
    const ended = other.client.next('sessionEnded');
    ok(await lead.client.request('decline', { participantId: ok(other.ack).self.id }));
    expect((await ended).reason).toBe('declined');
    expect(err(await lead.client.request('admit', { participantId: ok(other.ack).self.id })).code).toBe('WRONG_STATE');

    expect(audit.map((e) => e.type)).toEqual(
      expect.arrayContaining(['room_locked', 'lobby_waiting', 'lobby_admitted', 'participant_joined', 'lobby_declined']),
    );
    expect(audit.find((e) => e.type === 'lobby_admitted')).toMatchObject({
      actor: { name: 'Prof. Zhao' },
      subject: { name: 'Dr. Chen', siteName: 'Hongqi Village Clinic' },
    });
  });
});

describe('moderation', () => {
  it('mute sticks until allowed; screen share can be stopped; removal outlasts reconnecting', async () => {
    const room = 'mod-actions';
    const lead = await member({ room, role: 'lead_specialist', sub: 'lead2', name: 'Prof. Sun' });
    const audit = auditOf(room);
    const doc = await member({ room, role: 'clinic_doctor', sub: 'doc2', name: 'Dr. He' });
    const mic = await publish(doc.client, 'microphone', 501);

    const muted = doc.client.next('mutedByModerator');
    const pausedForLead = lead.client.next('producerPaused');
    ok(await lead.client.request('muteParticipant', { participantId: doc.self.id, source: 'microphone' }));
    expect((await muted).by.displayName).toBe('Prof. Sun');
    expect((await pausedForLead).producerId).toBe(mic);
    expect(env.server.rooms.get(room)?.participant(doc.self.id)?.producer(mic).producer.paused).toBe(true);
    expect(err(await doc.client.request('resumeProducer', { producerId: mic })).code).toBe('FORBIDDEN');
    ok(await doc.client.request('closeProducer', { producerId: mic }));
    const send = ok(await doc.client.request('createTransport', { direction: 'send' }));
    expect(
      err(
        await doc.client.request('produce', {
          transportId: send.id,
          kind: 'audio',
          source: 'microphone',
          rtpParameters: fakeRtpParameters('audio', 502),
        }),
      ).message,
    ).toMatch(/muted by a moderator/);
    // A non-moderator cannot mute anyone.
    expect(err(await doc.client.request('muteParticipant', { participantId: lead.self.id, source: 'microphone' })).code).toBe('FORBIDDEN');

    const allowed = doc.client.next('unmuteAllowed');
    ok(await lead.client.request('allowUnmute', { participantId: doc.self.id, source: 'microphone' }));
    await allowed;
    ok(
      await doc.client.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 503),
      }),
    );

    const screen = ok(
      await doc.client.request('produce', {
        transportId: send.id,
        kind: 'video',
        source: 'screen',
        rtpParameters: fakeRtpParameters('video', 504),
      }),
    ).producerId;
    const ownClosed = doc.client.next('ownProducerClosed');
    const closedForLead = lead.client.next('producerClosed', (p) => p.producerId === screen);
    ok(await lead.client.request('stopScreenShare', { participantId: doc.self.id }));
    expect(await ownClosed).toMatchObject({ producerId: screen, source: 'screen' });
    await closedForLead;

    const removed = doc.client.next('sessionEnded');
    const left = lead.client.next('participantLeft');
    ok(await lead.client.request('removeParticipant', { participantId: doc.self.id }));
    expect((await removed).reason).toBe('removed');
    expect(await left).toEqual({ participantId: doc.self.id, reason: 'removed' });
    // Same token again: refused.
    const again = await connectAndJoin(env.server.url, token({ room, role: 'clinic_doctor', sub: 'doc2', name: 'Dr. He' }));
    env.track(again.client);
    expect(err(again.ack).message).toMatch(/removed/);
    expect(err(await again.client.request('resume', { participantId: doc.self.id, resumeToken: doc.join.resumeToken })).code).toBe(
      'NOT_FOUND',
    );
    // Still refused after the room emptied and closed: the ban outlives the room object.
    ok(await lead.client.request('leave', {}));
    expect(env.server.rooms.get(room)).toBeUndefined();
    const later = await connectAndJoin(env.server.url, token({ room, role: 'clinic_doctor', sub: 'doc2', name: 'Dr. He' }));
    env.track(later.client);
    expect(err(later.ack).message).toMatch(/removed/);

    expect(audit.map((e) => e.type)).toEqual(
      expect.arrayContaining(['muted', 'unmute_allowed', 'screen_share_stopped', 'removed', 'published', 'unpublished']),
    );
    expect(audit.find((e) => e.type === 'muted')).toMatchObject({
      actor: { name: 'Prof. Sun' },
      subject: { name: 'Dr. He' },
      data: { source: 'microphone' },
    });
  });

  it('hands go up and down; the lead ends the consultation for everyone', async () => {
    const room = 'mod-hands';
    const lead = await member({ room, role: 'lead_specialist', sub: 'lead3' });
    const obs = await member({ room, role: 'observer', sub: 'trainee' });
    const raised = lead.client.next('handRaised');
    ok(await obs.client.request('setHandRaised', { raised: true }));
    expect(await raised).toEqual({ participantId: obs.self.id, raised: true });
    expect(err(await lead.client.request('setHandRaised', { raised: true, participantId: obs.self.id })).code).toBe('BAD_REQUEST');
    expect(err(await obs.client.request('setHandRaised', { raised: false, participantId: lead.self.id })).code).toBe('FORBIDDEN');
    const lowered = obs.client.next('handRaised');
    ok(await lead.client.request('setHandRaised', { raised: false, participantId: obs.self.id }));
    expect((await lowered).raised).toBe(false);

    const endedObs = obs.client.next('sessionEnded');
    ok(await lead.client.request('endRoom', {}));
    expect(await endedObs).toMatchObject({ reason: 'room_ended' });
    expect(env.server.rooms.get(room)).toBeUndefined();
    // An ended consultation cannot be reopened with the same room id.
    const reopen = await connectAndJoin(env.server.url, token({ room, role: 'lead_specialist', sub: 'lead3' }));
    env.track(reopen.client);
    expect(err(reopen.ack)).toMatchObject({ code: 'WRONG_STATE', message: expect.stringMatching(/ended/) });
  });
});

describe('chat', () => {
  it('delivers live, replays history to late joiners and enforces limits', async () => {
    const room = 'mod-chat';
    const a = await member({ room, role: 'lead_specialist', sub: 'chat-a', name: 'Prof. Wu' });
    const b = await member({ room, role: 'clinic_doctor', sub: 'chat-b' });
    const got = b.client.next('chatMessage');
    const sent = ok(await a.client.request('sendChat', { text: '  Please upload the MRI series.  ' }));
    expect(sent.message.text).toBe('Please upload the MRI series.');
    expect((await got).message).toMatchObject({ displayName: 'Prof. Wu', role: 'lead_specialist', text: 'Please upload the MRI series.' });

    expect(err(await a.client.request('sendChat', { text: 'x'.repeat(2001) })).code).toBe('BAD_REQUEST');
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await a.client.request('sendChat', { text: `msg ${i}` }));
    expect(burst.filter((x) => x.ok)).toHaveLength(4); // 1 + 4 = the 5 allowed per 5 s
    expect(err(burst[5]!).code).toBe('TOO_MANY_REQUESTS');

    const late = await member({ room, role: 'specialist', sub: 'chat-late' });
    expect(late.join.chat.map((m) => m.text)).toEqual(['Please upload the MRI series.', 'msg 0', 'msg 1', 'msg 2', 'msg 3']);
  });
});

describe('reconnection', () => {
  it('a dropped socket resumes the same participant; the others see no leave/join', async () => {
    const room = 'mod-resume';
    const a = await member({ room, role: 'specialist', sub: 'res-a', name: 'Dr. Resume' });
    const mic = await publish(a.client, 'microphone', 601);
    const b = await member({ room, role: 'specialist', sub: 'res-b' });
    const reconnecting = b.client.next('participantConnection', (p) => p.state === 'reconnecting');

    a.client.socket.io.engine.close(); // the network drops under the socket (not a deliberate leave)
    expect(await reconnecting).toEqual({ participantId: a.self.id, state: 'reconnecting' });
    expect(env.server.rooms.get(room)?.participant(a.self.id)?.connected).toBe(false);

    const a2 = await connect(env.server.url, token({ room, role: 'specialist', sub: 'res-a', name: 'Dr. Resume' }));
    env.track(a2);
    expect(err(await a2.request('resume', { participantId: a.self.id, resumeToken: 'y'.repeat(32) })).code).toBe('NOT_FOUND');
    const back = b.client.next('participantConnection', (p) => p.state === 'connected');
    const snapshot = ok(await a2.request('resume', { participantId: a.self.id, resumeToken: a.join.resumeToken }));
    expect(snapshot.self.id).toBe(a.self.id);
    expect(snapshot.participants.map((p) => p.identity)).toEqual(['res-b']);
    await back;
    expect(b.client.received.filter((r) => r.name === 'participantLeft' || r.name === 'participantJoined')).toEqual([]);
    expect(env.server.rooms.get(room)?.findProducer(mic)?.owner.id).toBe(a.self.id);
    // The resumed socket works for media requests.
    expect(ok(await a2.request('createTransport', { direction: 'recv' })).id).toBeTruthy();
  });

  it('resuming before the server noticed the drop retires the old socket without suspending anyone', async () => {
    const room = 'mod-resume-early';
    const a = await member({ room, role: 'specialist', sub: 'early-a' });
    const b = await member({ room, role: 'specialist', sub: 'early-b' });
    const a2 = env.track(await connect(env.server.url, token({ room, role: 'specialist', sub: 'early-a' })));
    const oldGone = new Promise((r) => a.client.socket.once('disconnect', r));
    ok(await a2.request('resume', { participantId: a.self.id, resumeToken: a.join.resumeToken }));
    await oldGone;
    await new Promise((r) => setTimeout(r, 200));
    const participant = env.server.rooms.get(room)?.participant(a.self.id);
    expect(participant?.connected).toBe(true);
    expect(b.client.received.filter((r) => r.name === 'participantConnection' || r.name === 'participantLeft')).toEqual([]);
    expect(ok(await a2.request('createTransport', { direction: 'recv' })).id).toBeTruthy();
  });

  it('past the grace period the participant is gone and the others are told', async () => {
    const short = await startTestServer({ RECONNECT_GRACE_SECONDS: '1' });
    try {
      const a = await connectAndJoin(short.url, token({ room: 'grace', sub: 'g-a' }));
      const b = await connectAndJoin(short.url, token({ room: 'grace', sub: 'g-b' }));
      env.track(a.client);
      env.track(b.client);
      const left = b.client.next('participantLeft', undefined, 5000);
      a.client.socket.io.engine.close();
      expect(await left).toMatchObject({ participantId: ok(a.ack).self.id, reason: 'disconnected' });
    } finally {
      await short.close();
    }
  });
});
