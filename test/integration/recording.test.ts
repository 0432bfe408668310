/**
 * Recording control over real signaling (real worker, real FFmpeg recorders): who may start it,
 * what everyone is told, and a recorder that fails mid-way is reported to the moderators while the
 * server keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connectAndJoin, err, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';

const env = useTestEnvironment();

async function member(spec: TokenSpec): Promise<TestClient> {
  const { client, ack } = await connectAndJoin(env.server.url, token(spec));
  ok(ack);
  return env.track(client);
}

describe('recording control', () => {
  it('only the record grant starts it; everyone is told; a dying recorder is reported to the moderators', async () => {
    const room = 'rec-control';
    const lead = await member({ room, role: 'lead_specialist', sub: 'rc-lead' });
    const doc = await member({ room, role: 'clinic_doctor', sub: 'rc-doc' });
    const send = ok(await doc.request('createTransport', { direction: 'send' }));
    ok(
      await doc.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 4242),
      }),
    );

    expect(err(await doc.request('startRecording', {}))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/may not start recording/),
    });
    expect(env.server.rooms.get(room)?.recording).toBeNull();

    const told = doc.next('recordingStarted');
    const info = ok(await lead.request('startRecording', {}));
    expect((await told).recording).toEqual(info);
    expect(err(await lead.request('startRecording', {})).code).toBe('WRONG_STATE');

    const record = env.server.records.recordOf(env.server.rooms.get(room)!)!;
    const deadline = Date.now() + 10_000;
    while (!record.session?.tracks()[0]?.pid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const pid = record.session!.tracks()[0]!.pid!;
    const reported = lead.next('recordingError', undefined, 10_000);
    process.kill(pid, 'SIGKILL'); // the recorder dies as it would on a full disk
    expect((await reported).sessionId).toBe(info.sessionId);
    expect(doc.received.some((r) => r.name === 'recordingError')).toBe(false);

    // The server is unharmed: recording stops cleanly and everyone is told.
    const stopped = doc.next('recordingStopped');
    ok(await lead.request('stopRecording', {}));
    expect(await stopped).toMatchObject({ sessionId: info.sessionId, by: { displayName: expect.any(String) } });
    expect(ok(await doc.request('createTransport', { direction: 'recv' })).id).toBeTruthy();
  });
});
