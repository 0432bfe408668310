/**
 * Event webhooks from a real server (in-process, real worker and recorders) over real signaling, to
 * a receiver on 127.0.0.1 that verifies every signature: a consultation's events in the order they
 * happened, pseudonymous unless configured otherwise, the recording's manifest hash, and the
 * EVENT_WEBHOOK_EVENTS filter. (test/e2e/event-webhooks.e2e.test.ts: SDK clients in Chromium, the
 * receiver down and failing, a server restart meanwhile.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex, type ManifestParticipant } from '../../recordings/index.js';
import type { MediaServer } from '../../server/MediaServer.js';
import { pseudonym } from '../../server/pseudonym.js';
import type { RoomEvent } from '../../server/events/types.js';
import { eventReceiver, eventsOf, type EventReceiver } from '../helpers/eventReceiver.js';
import { startTestServer } from '../helpers/server.js';
import { connectAndJoin, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { wangFang as wangFangPerson, zhaoLei as zhaoLeiPerson } from '../recordings/helpers/people.js';

const CASE = 'CASE-2026-1130-07';
/** The consultation's people (test/recordings/helpers/people.ts) as their hospital's tokens name them. */
const asToken = (p: ManifestParticipant): TokenSpec => ({
  sub: p.identity,
  name: p.name,
  role: p.role,
  site: { id: p.siteId, name: p.siteName, level: p.siteLevel ?? 'county_hospital' },
  caseId: CASE,
});
const wangFang = asToken(wangFangPerson);
const zhaoLei = asToken(zhaoLeiPerson);

const servers: MediaServer[] = [];
const receivers: EventReceiver[] = [];
const clients: TestClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  for (const r of receivers) await r.stop();
});

async function setUp(env: Record<string, string> = {}): Promise<{ server: MediaServer; receiver: EventReceiver }> {
  const receiver = await eventReceiver();
  receivers.push(receiver);
  await receiver.start();
  const server = await startTestServer({
    EVENT_WEBHOOK_URL: `${receiver.url}/telemed/events`,
    EVENT_WEBHOOK_SECRET: receiver.secret,
    OUTBOX_RETRY_BASE_MS: '50',
    OUTBOX_RETRY_MAX_MS: '500',
    ROOM_EMPTY_LINGER_SECONDS: '0',
    ...env,
  });
  servers.push(server);
  return { server, receiver };
}

async function join(server: MediaServer, room: string, spec: TokenSpec): Promise<TestClient> {
  const { client, ack } = await connectAndJoin(server.url, token({ ...spec, room }));
  ok(ack);
  clients.push(client);
  return client;
}

/** The room is gone and every event it made has been delivered: nothing more can come. */
async function settled(server: MediaServer, room: string): Promise<void> {
  await until('room closed and its events delivered', () => (!server.rooms.get(room) && server.events?.pending === 0) || undefined, 20_000);
}

const summary = (e: RoomEvent): string => {
  switch (e.type) {
    case 'participant_joined':
    case 'participant_left':
    case 'track_published':
    case 'track_unpublished':
      return `${e.type} ${e.participant.site.id}`;
    default:
      return e.type;
  }
};

describe('event webhooks', () => {
  it("tells a consultation's events in order, signed, pseudonymous, with the recording's manifest hash", async () => {
    const { server, receiver } = await setUp();
    const room = 'mdt-events-1';
    const lead = await join(server, room, wangFang);
    const doctor = await join(server, room, zhaoLei);
    const send = ok(await doctor.request('createTransport', { direction: 'send' }));
    const mic = ok(
      await doctor.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 5150),
      }),
    );
    const recording = ok(await lead.request('startRecording', {}));
    ok(await lead.request('stopRecording', {}));
    await until('recording_finished delivered', () => receiver.processed.find((e) => e.type === 'recording_finished'), 20_000);
    ok(await doctor.request('leave', {}));
    ok(await lead.request('endRoom', {}));
    await settled(server, room);

    const events = eventsOf(receiver, room);
    expect(events.map(summary)).toEqual([
      'room_started',
      'participant_joined prov-zl',
      'participant_joined anping-xy',
      'track_published anping-xy',
      'recording_started',
      'recording_finished',
      'track_unpublished anping-xy',
      'participant_left anping-xy',
      'participant_left prov-zl',
      'room_finished',
    ]);
    // One opening of the room: seq counts 1…n in the order they were processed; ids all distinct.
    expect(new Set(events.map((e) => e.room.session)).size).toBe(1);
    expect(events.map((e) => e.room.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events[0]!.room).toMatchObject({ id: room, kind: 'consultation', caseId: CASE });
    expect(receiver.rejected).toEqual([]);

    // People by role, site and pseudonym; no real name or identity unless configured.
    const joined = events.find((e) => e.type === 'participant_joined');
    expect(joined?.type === 'participant_joined' && joined.participant).toEqual({
      id: expect.any(String),
      pseudonym: pseudonym('staff-30871'),
      role: 'lead_specialist',
      site: { id: 'prov-zl', name: '省肿瘤医院', level: 'tertiary_hospital' },
    });
    const text = JSON.stringify(events);
    for (const secret of ['王芳', '赵磊', 'staff-30871', 'staff-61204']) expect(text).not.toContain(secret);

    const track = events.find((e) => e.type === 'track_published');
    expect(track?.type === 'track_published' && track.track).toEqual({ id: mic.producerId, kind: 'audio', source: 'microphone' });
    const left = events.find((e) => e.type === 'participant_left');
    expect(left?.type === 'participant_left' && left.reason).toBe('left');
    const finished = events.at(-1);
    expect(finished?.type === 'room_finished' && finished.reason).toBe('ended');
    expect(finished?.type === 'room_finished' && finished.by?.pseudonym).toBe(pseudonym('staff-30871'));

    // The recording: who started it, and the hash of the manifest the archive keeps.
    const started = events.find((e) => e.type === 'recording_started');
    expect(started?.type === 'recording_started' && started.recording).toMatchObject({
      sessionId: recording.sessionId,
      entryId: `rec-${recording.sessionId}`,
      startedBy: { pseudonym: pseudonym('staff-30871'), role: 'lead_specialist' },
    });
    const done = events.find((e) => e.type === 'recording_finished');
    if (done?.type !== 'recording_finished') throw new Error('no recording_finished');
    const manifestFile = path.join(server.config.records.caseRecordDir, CASE, `rec-${recording.sessionId}`, 'manifest.json');
    expect(done.recording.manifestSha256).toBe(sha256Hex(readFileSync(manifestFile)));
    expect(done.recording).toMatchObject({ status: 'complete', tracks: 1 });
  });

  it('sends only the configured events, with names when configured', async () => {
    const { server, receiver } = await setUp({
      EVENT_WEBHOOK_EVENTS: 'room_started,participant_joined',
      EVENT_WEBHOOK_INCLUDE_NAMES: 'true',
    });
    const room = 'followup-events-2';
    const lead = await join(server, room, wangFang);
    const doctor = await join(server, room, zhaoLei);
    const send = ok(await doctor.request('createTransport', { direction: 'send' }));
    ok(
      await doctor.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 5250),
      }),
    );
    ok(await doctor.request('leave', {}));
    ok(await lead.request('leave', {}));
    await settled(server, room);

    const events = eventsOf(receiver, room);
    expect(events.map(summary)).toEqual(['room_started', 'participant_joined prov-zl', 'participant_joined anping-xy']);
    // The sequence counts what is sent: a receiver can tell a gap from a filter.
    expect(events.map((e) => e.room.seq)).toEqual([1, 2, 3]);
    expect(events[2]?.type === 'participant_joined' && events[2].participant).toMatchObject({ identity: 'staff-61204', name: '赵磊' });
  });
});
