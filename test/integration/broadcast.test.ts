/**
 * Broadcast audiences over real signaling: written Q&A (ask, approve, hide, answer; limits; late
 * joiners get the list), the throttled viewer count, the stage grant, and viewers spread over viewer
 * routers on every worker once a router is full.
 */
import { describe, expect, it } from 'vitest';
import type { JoinResult } from '../../signaling/protocol/index.js';
import { connectAndJoin, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ env: { MEDIA_WORKERS: '2', BROADCAST_CONSUMERS_PER_ROUTER: '4' } });

const site = { id: 'home', name: 'Home', level: 'village_clinic' } as const;
async function member(spec: TokenSpec): Promise<{ client: TestClient; caps: unknown; join: JoinResult }> {
  const { client, caps, ack } = await connectAndJoin(env.server.url, token({ kind: 'broadcast', caseId: undefined, ...spec }));
  env.track(client);
  const joined = ok(ack);
  if (joined.status !== 'joined') throw new Error('expected to join directly');
  return { client, caps, join: joined };
}

describe('Q&A', () => {
  it('viewers ask, the moderator approves or hides, the presenter answers; late joiners get the list', async () => {
    const room = 'bc-qa';
    const lead = await member({ room, role: 'lead_specialist', sub: 'bc-lead' });
    const presenter = await member({ room, role: 'presenter', sub: 'bc-presenter' });
    const viewer = await member({ room, role: 'viewer', sub: 'bc-v1', name: 'Mrs. Liu', site });
    const other = await member({ room, role: 'viewer', sub: 'bc-v2', site });

    const leadSees = lead.client.next('questionUpdated');
    const asked = ok(await viewer.client.request('askQuestion', { text: 'How much salt per day after a liver transplant?' })).question;
    expect(asked).toMatchObject({ status: 'pending', askedBy: { displayName: 'Mrs. Liu', siteName: 'Home' } });
    expect((await leadSees).question.id).toBe(asked.id);
    expect(err(await viewer.client.request('askQuestion', { text: 'again?' })).code).toBe('TOO_MANY_REQUESTS');
    expect(err(await viewer.client.request('askQuestion', { text: 'x'.repeat(501) })).code).toBe('BAD_REQUEST');
    expect(err(await viewer.client.request('updateQuestion', { questionId: asked.id, status: 'approved' })).code).toBe('FORBIDDEN');
    expect(err(await presenter.client.request('askQuestion', { text: 'me?' })).code).toBe('FORBIDDEN');
    // Pending questions are not shown to the audience.
    expect(other.client.received.filter((r) => r.name === 'questionUpdated')).toEqual([]);

    const otherSees = other.client.next('questionUpdated');
    ok(await lead.client.request('updateQuestion', { questionId: asked.id, status: 'approved' }));
    expect((await otherSees).question).toMatchObject({ id: asked.id, status: 'approved' });
    const answered = other.client.next('questionUpdated');
    ok(await presenter.client.request('updateQuestion', { questionId: asked.id, status: 'answered' }));
    expect((await answered).question.status).toBe('answered');

    const spam = ok(await other.client.request('askQuestion', { text: 'buy cheap pills' })).question;
    ok(await lead.client.request('updateQuestion', { questionId: spam.id, status: 'hidden' }));

    const late = await member({ room, role: 'viewer', sub: 'bc-late', site });
    expect(late.join.questions.map((q) => [q.id, q.status])).toEqual([[asked.id, 'answered']]);
    const lateLead = await member({ room, role: 'presenter', sub: 'bc-presenter-2' });
    expect(lateLead.join.questions.map((q) => q.status).sort()).toEqual(['answered', 'hidden']);
  });

  it('the viewer count is sent, throttled, when it changes', async () => {
    const room = 'bc-count';
    const presenter = await member({ room, role: 'presenter', sub: 'cnt-p' });
    for (let i = 0; i < 5; i++) await member({ room, role: 'viewer', sub: `cnt-v${i}`, site });
    // The audience is the five viewers: presenters and moderators are not counted.
    const count = await presenter.client.next('viewerCount', (c) => c.count === 5, 3000);
    expect(count.count).toBe(5);
    await new Promise((r) => setTimeout(r, 1200));
    const counts = presenter.client.received.filter((r) => r.name === 'viewerCount');
    expect(counts.length).toBeLessThanOrEqual(3); // six joins, at most one message a second
  });
});

describe('stage and fan-out', () => {
  it('spreads viewers over routers on both workers; a viewer on stage may publish, then may not', async () => {
    const room = 'bc-stage';
    const lead = await member({ room, role: 'lead_specialist', sub: 'st-lead' });
    const presenter = await member({ room, role: 'presenter', sub: 'st-presenter' });
    const send = ok(await presenter.client.request('createTransport', { direction: 'send' }));
    for (const [kind, source, ssrc] of [
      ['audio', 'microphone', 11],
      ['video', 'camera', 12],
    ] as const) {
      ok(await presenter.client.request('produce', { transportId: send.id, kind, source, rtpParameters: fakeRtpParameters(kind, ssrc) }));
    }
    const viewers = [];
    for (let i = 0; i < 4; i++) {
      const v = await member({ room, role: 'viewer', sub: `st-v${i}`, site });
      const recv = ok(await v.client.request('createTransport', { direction: 'recv' }));
      for (const p of v.join.producers) ok(await v.client.request('consume', { producerId: p.id, transportId: recv.id }));
      viewers.push({ ...v, recv });
    }
    const fanOut = env.server.rooms.get(room)!.fanOut!;
    const routers = fanOut.describe();
    // One router per worker: beyond both routers' cap the least loaded takes more, no pipe hop is added.
    expect(routers.map((r) => r.workerIndex).sort()).toEqual([0, 1]);
    expect(routers.reduce((sum, r) => sum + r.consumers, 0)).toBe(4 * 2);

    // Viewers see the staff, not each other: no per-viewer join storms at scale.
    const v3 = viewers[3]!;
    expect(v3.join.participants.map((p) => p.role).sort()).toEqual(['lead_specialist', 'presenter']);
    expect(viewers[0]!.client.received.filter((r) => r.name === 'participantJoined')).toEqual([]);
    expect(lead.client.received.filter((r) => r.name === 'participantJoined')).toHaveLength(5);

    const v0 = viewers[0]!;
    expect(err(await v0.client.request('createTransport', { direction: 'send' })).code).toBe('FORBIDDEN');
    const introduced = v3.client.next('participantJoined');
    const granted = v0.client.next('permissionsChanged');
    const stageNote = viewers[3]!.client.next('stageChanged');
    ok(await lead.client.request('setOnStage', { participantId: v0.join.self.id, onStage: true }));
    expect((await granted).permissions).toEqual(expect.arrayContaining(['publish_audio', 'publish_video']));
    expect(await stageNote).toMatchObject({ participantId: v0.join.self.id, onStage: true });
    expect((await introduced).participant.id).toBe(v0.join.self.id);
    const v0send = ok(await v0.client.request('createTransport', { direction: 'send' }));
    const added = viewers[3]!.client.next('producerAdded');
    const { producerId } = ok(
      await v0.client.request('produce', {
        transportId: v0send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 99),
      }),
    );
    expect((await added).producer.id).toBe(producerId);
    // A viewer on another worker's router receives the stage speaker through the pipe.
    ok(await viewers[3]!.client.request('consume', { producerId, transportId: viewers[3]!.recv.id }));

    const revoked = v0.client.next('permissionsChanged');
    const closed = viewers[3]!.client.next('producerClosed');
    const steppedDown = v3.client.next('participantLeft');
    ok(await lead.client.request('setOnStage', { participantId: v0.join.self.id, onStage: false }));
    expect((await revoked).permissions).not.toContain('publish_audio');
    expect((await closed).producerId).toBe(producerId);
    expect(await steppedDown).toEqual({ participantId: v0.join.self.id, reason: 'off_stage' });
    expect(
      err(
        await v0.client.request('produce', {
          transportId: v0send.id,
          kind: 'audio',
          source: 'microphone',
          rtpParameters: fakeRtpParameters('audio', 98),
        }),
      ).code,
    ).toBe('FORBIDDEN');
    expect(err(await presenter.client.request('setOnStage', { participantId: v0.join.self.id, onStage: true })).code).toBe('FORBIDDEN');
  });
});
