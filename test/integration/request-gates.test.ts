/**
 * The dispatcher's gates, generated from the handler table itself: every request is sent in every
 * connection state its entry does not declare, and by every role (in every kind of room) that lacks
 * the permission its entry declares, over real signaling. Each must be refused with WRONG_STATE or
 * FORBIDDEN and leave no trace in the room. Nothing here lists requests, states or permissions by
 * hand: a new request is covered by adding its entry (and a sample payload, which the compiler asks for).
 */
import { describe, expect, it } from 'vitest';
import { requiredPermission, type HandlerEntry } from '../../server/signaling/dispatcher.js';
import { HANDLERS } from '../../server/signaling/handlers/index.js';
import type { ConnectionState } from '../../server/signaling/Session.js';
import type { RoomAuditEvent } from '../../server/rooms/audit.js';
import {
  mayEnter,
  permissionsFor,
  REQUEST_NAMES,
  ROLES,
  ROOM_KINDS,
  type RequestName,
  type RequestPayload,
  type Role,
  type RoomKind,
} from '../../signaling/protocol/index.js';
import { connect, connectAndJoin, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment();

const ID = 'p-0123456789';
/** A valid payload for every request (valid so that only the gate under test can refuse it). */
const SAMPLES: { [N in RequestName]: RequestPayload<N> } = {
  getRouterRtpCapabilities: {},
  join: { rtpCapabilities: { codecs: [] } },
  prepareReceive: {},
  connectPrepared: { transportId: ID, dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] } },
  createTransport: { direction: 'send' },
  connectTransport: { transportId: ID, dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] } },
  restartIce: { transportId: ID },
  closeTransport: { transportId: ID },
  produce: {
    transportId: ID,
    kind: 'audio',
    source: 'microphone',
    rtpParameters: fakeRtpParameters('audio', 4242) as RequestPayload<'produce'>['rtpParameters'],
  },
  closeProducer: { producerId: ID },
  pauseProducer: { producerId: ID },
  resumeProducer: { producerId: ID },
  consume: { producerId: ID, transportId: ID },
  resumeConsumer: { consumerId: ID },
  pauseConsumer: { consumerId: ID },
  setPreferredLayers: { consumerId: ID, spatialLayer: 0 },
  leave: {},
  resume: { participantId: ID, resumeToken: 'x'.repeat(32) },
  setRoomLocked: { locked: true },
  admit: { participantId: ID },
  decline: { participantId: ID },
  muteParticipant: { participantId: ID, source: 'microphone' },
  allowUnmute: { participantId: ID, source: 'microphone' },
  stopScreenShare: { participantId: ID },
  removeParticipant: { participantId: ID },
  endRoom: {},
  setHandRaised: { raised: true },
  sendChat: { text: '请上传最新的CT影像' },
  chatHistory: { limit: 20 },
  askQuestion: { text: '术后多久可以复查？' },
  updateQuestion: { questionId: ID, status: 'approved' },
  setOnStage: { participantId: ID, onStage: true },
  startHls: {},
  stopHls: {},
  startRecording: {},
  stopRecording: {},
  acknowledgeRecording: { sessionId: ID },
  preflight: { step: 'report', testId: ID },
  createIngest: { protocol: 'whip', name: '健康教育演播室' },
  listIngests: {},
  revokeIngest: { ingestId: ID },
};

const entry = (name: RequestName) => HANDLERS[name] as HandlerEntry<RequestName>;
const send = (client: TestClient, name: RequestName) => client.request(name, SAMPLES[name]);
const caseFor = (kind: RoomKind) => (kind === 'consultation' || kind === 'follow_up' ? 'CASE-GATES' : undefined);
const priorVisit = { encounterId: 'ENC-9', date: '2026-10-01' };

function auditOf(roomId: string): RoomAuditEvent[] {
  const events: RoomAuditEvent[] = [];
  env.server.rooms.get(roomId)?.on('audit', (e) => events.push(e));
  return events;
}

/** A connection in each state a socket can be observed in. */
async function connectionIn(state: ConnectionState, room: string): Promise<TestClient> {
  const spec = { room, sub: `${state}-${room}`, name: `状态 ${state}` };
  if (state === 'none') return env.track(await connect(env.server.url, token({ ...spec, role: 'specialist' })));
  if (state === 'joined') {
    const { client, ack } = await connectAndJoin(env.server.url, token({ ...spec, role: 'specialist' }));
    expect(ok(ack).status).toBe('joined');
    return env.track(client);
  }
  // waiting: the room is locked (by its lead) and a clinic doctor does not bypass the lobby.
  const { client, ack } = await connectAndJoin(
    env.server.url,
    token({ ...spec, role: 'clinic_doctor', name: '赵磊', site: { id: 'anping', name: '安平县医院', level: 'county_hospital' } }),
  );
  expect(ok(ack).status).toBe('waiting');
  return env.track(client);
}

describe('every request in every connection state it does not accept gets WRONG_STATE', () => {
  const observable: ConnectionState[] = ['none', 'waiting', 'joined'];
  for (const state of observable) {
    const refused = REQUEST_NAMES.filter((name) => !entry(name).states.includes(state));
    it(`in state "${state}": ${refused.length} requests refused`, async () => {
      expect(refused.length).toBeGreaterThan(0);
      const room = `gates-state-${state}`;
      const lead = await connectAndJoin(env.server.url, token({ room, role: 'lead_specialist', sub: `lead-${room}`, name: '王芳' }));
      env.track(lead.client);
      ok(lead.ack);
      ok(await lead.client.request('setRoomLocked', { locked: true }));
      const client = await connectionIn(state, room);
      const audit = auditOf(room);
      const before = env.server.rooms.get(room)?.size;
      for (const name of refused) {
        const error = err(await send(client, name));
        expect(error.code, `${name} in ${state}: ${error.message}`).toBe('WRONG_STATE');
      }
      expect(audit, 'a refused request leaves nothing in the audit trail').toEqual([]);
      expect(env.server.rooms.get(room)?.size).toBe(before);
    });
  }
});

describe('every request from every role lacking its declared permission gets FORBIDDEN', () => {
  for (const kind of ROOM_KINDS) {
    const roles = ROLES.filter((role) => mayEnter(kind, role));
    it(`${kind}: ${roles.join(', ')}`, async () => {
      const room = `gates-perm-${kind}`;
      let refusedCount = 0;
      for (const role of roles) {
        const { client, ack } = await connectAndJoin(
          env.server.url,
          token({ room, kind, role: role as Role, sub: `${role}-${room}`, name: `${role} 李医生`, caseId: caseFor(kind), priorVisit }),
        );
        env.track(client);
        const self = ok(ack);
        expect(self.status).toBe('joined');
        const me = env.server.rooms.get(room)!.participant(self.self.id)!;
        const has = permissionsFor(kind, role);
        const audit = auditOf(room);
        for (const name of REQUEST_NAMES) {
          const spec = entry(name);
          if (!spec.states.includes('joined')) continue;
          const needed = requiredPermission(spec, SAMPLES[name], me);
          if (!needed || needed.anyOf.some((p) => has.has(p))) continue;
          refusedCount++;
          const error = err(await send(client, name));
          expect(error.code, `${role} in ${kind}: ${name}: ${error.message}`).toBe('FORBIDDEN');
          expect(error.message).toContain(role);
        }
        expect(audit, `${role}: refused requests leave nothing in the audit trail`).toEqual([]);
      }
      // Every kind has someone who may not do something; a table with no refusals would be a bug here.
      expect(refusedCount).toBeGreaterThan(0);
    });
  }
});
