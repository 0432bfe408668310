/**
 * The permission table, enforced through real signaling: every role in every kind of room tries
 * every action (enter, bypass the lobby, publish each source, chat, raise a hand, moderate, record,
 * end the room) and is allowed or refused exactly as the table says.
 */
import { describe, expect, it } from 'vitest';
import {
  permissionsFor,
  mayEnter,
  ROLES,
  ROOM_KINDS,
  type Ack,
  type Permission,
  type Role,
  type RoomKind,
} from '../../signaling/protocol/index.js';
import { connect, connectAndJoin, err, fakeRtpParameters, ok } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment();

const priorVisit = { encounterId: 'ENC-1', date: '2026-10-01' };
const caseFor = (kind: RoomKind) => (kind === 'consultation' || kind === 'follow_up' ? 'CASE-P' : undefined);

/** Expects success when allowed, FORBIDDEN otherwise. */
function expectAllowed(ack: Ack<unknown>, allowed: boolean, what: string): void {
  if (allowed) expect(ack.ok, `${what}: ${ack.ok ? '' : ack.error.message}`).toBe(true);
  else expect(ack.ok ? 'ok' : ack.error.code, what).toBe('FORBIDDEN');
}

describe('permission table through real signaling', () => {
  for (const kind of ROOM_KINDS) {
    for (const role of ROLES) {
      it(`${role} in a ${kind} room`, async () => {
        const room = `perm-${kind}-${role}`;
        const can = permissionsFor(kind, role);
        const has = (p: Permission) => can.has(p);
        const chair = await connectAndJoin(
          env.server.url,
          token({ room, kind, role: 'lead_specialist', sub: `chair-${room}`, caseId: caseFor(kind) }),
        );
        env.track(chair.client);
        ok(chair.ack);
        ok(await chair.client.request('setRoomLocked', { locked: true }));

        const me = await connectAndJoin(env.server.url, token({ room, kind, role, sub: `me-${room}`, caseId: caseFor(kind), priorVisit }));
        env.track(me.client);
        if (!mayEnter(kind, role)) {
          expect(err(me.ack).code, 'enter').toBe('FORBIDDEN');
          return;
        }
        const joined = ok(me.ack);
        expect(joined.status, 'bypass_lobby').toBe(has('bypass_lobby') ? 'joined' : 'waiting');
        if (joined.status === 'waiting') {
          const admitted = me.client.next('admitted');
          ok(await chair.client.request('admit', { participantId: joined.self.id }));
          expect((await admitted).self.id).toBe(joined.self.id);
        }

        const publishes = has('publish_audio') || has('publish_video') || has('publish_screen');
        const send = await me.client.request('createTransport', { direction: 'send' });
        expectAllowed(send, publishes, 'send transport');
        if (send.ok) {
          let ssrc = 1000;
          for (const [source, kindOf, permission] of [
            ['microphone', 'audio', 'publish_audio'],
            ['camera', 'video', 'publish_video'],
            ['screen', 'video', 'publish_screen'],
          ] as const) {
            const ack = await me.client.request('produce', {
              transportId: send.data.id,
              kind: kindOf,
              source,
              rtpParameters: fakeRtpParameters(kindOf, ssrc++),
            });
            expectAllowed(ack, has(permission), `produce ${source}`);
          }
        }
        expectAllowed(await me.client.request('sendChat', { text: 'hello' }), has('chat'), 'chat');
        expectAllowed(await me.client.request('setHandRaised', { raised: true }), has('raise_hand'), 'raise hand');
        expectAllowed(await me.client.request('setRoomLocked', { locked: false }), has('moderate'), 'moderate');
        const recording = await me.client.request('startRecording', {});
        expectAllowed(recording, has('record'), 'record');
        expect(env.server.rooms.get(room)?.recording !== null, 'a recording exists only when allowed').toBe(has('record'));
        if (recording.ok) ok(await me.client.request('stopRecording', {}));
        expectAllowed(await me.client.request('endRoom', {}), has('end_room'), 'end room');
        expect(env.server.rooms.get(room) === undefined, 'room ended').toBe(has('end_room'));
      });
    }
  }

  it('matches the domain: who publishes, who only receives', () => {
    const publishes = (kind: RoomKind, role: Role) => permissionsFor(kind, role).has('publish_video');
    expect(publishes('broadcast', 'viewer')).toBe(false);
    expect(publishes('consultation', 'observer')).toBe(false);
    expect(publishes('follow_up', 'patient')).toBe(true);
    expect(permissionsFor('follow_up', 'patient').has('publish_screen')).toBe(false);
    expect(mayEnter('consultation', 'patient')).toBe(false);
    expect(permissionsFor('consultation', 'clinic_doctor').has('publish_screen')).toBe(true);
    expect(permissionsFor('consultation', 'lead_specialist').has('moderate')).toBe(true);
    expect(permissionsFor('consultation', 'specialist').has('moderate')).toBe(false);
  });
});

describe('follow-up rooms and online first visits', () => {
  it('refuses a patient without proof of a prior in-person visit, admits one with it', async () => {
    const room = 'followup-visit';
    const without = await connectAndJoin(env.server.url, token({ room, kind: 'follow_up', role: 'patient', sub: 'pat-1' }));
    env.track(without.client);
    const refusal = err(without.ack);
    expect(refusal).toMatchObject({ code: 'PRIOR_VISIT_REQUIRED', status: 403 });
    expect(refusal.message).toMatch(/follow-up only/);
    expect(env.server.rooms.get(room)).toBeUndefined();

    const withVisit = await connectAndJoin(env.server.url, token({ room, kind: 'follow_up', role: 'patient', sub: 'pat-1', priorVisit }));
    env.track(withVisit.client);
    expect(ok(withVisit.ack).status).toBe('joined');
  });

  it('a consultation token without a case id is refused at connect', async () => {
    const error = await connect(env.server.url, token({ room: 'no-case', caseId: undefined })).catch(
      (e: { wire?: { details?: object } }) => e,
    );
    expect((error as { wire: { details: object } }).wire.details).toHaveProperty(['caseId']);
  });
});
