/**
 * Recording continuity through the whole server (real signaling, worker, FFmpeg): a recorder killed
 * with SIGKILL is restarted and the moderators are told so; the media worker under a recorded room
 * killed with SIGKILL closes the room, and the archived manifest says `interrupted`, with the reason.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordingManifest } from '../../recordings/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connectAndJoin, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';

const env = useTestEnvironment();

const ROOM = 'mdt-honqi-0602';
const CASE = 'CASE-HQ-7731';
const site = {
  lead: { id: 'prov-zl', name: '省肿瘤医院', level: 'tertiary_hospital' as const },
  clinic: { id: 'hongqi-wsh', name: '红旗村卫生室', level: 'village_clinic' as const },
};

async function member(spec: TokenSpec): Promise<TestClient> {
  const { client, ack } = await connectAndJoin(env.server.url, token({ room: ROOM, caseId: CASE, ...spec }));
  ok(ack);
  return env.track(client);
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const value = probe();
    if (value !== undefined) return value;
  }
  throw new Error(`no ${what} within ${timeoutMs} ms`);
}

/** Every manifest archived for the case so far. */
function archivedManifests(): RecordingManifest[] {
  const dir = path.join(env.server.config.records.caseRecordDir, CASE);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((entry) => path.join(dir, entry, 'manifest.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as RecordingManifest);
}

describe('recording continuity in a consultation', () => {
  it('a killed recorder is restarted and the moderators are told; a killed worker ends the recording as interrupted', async () => {
    const lead = await member({ role: 'lead_specialist', sub: 'wangfang', name: '王芳', site: site.lead });
    const clinic = await member({ role: 'clinic_doctor', sub: 'mali', name: '马丽', site: site.clinic });
    const send = ok(await clinic.request('createTransport', { direction: 'send' }));
    ok(
      await clinic.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 6060),
      }),
    );
    const info = ok(await lead.request('startRecording', {}));
    const room = env.server.rooms.get(ROOM)!;
    const record = env.server.records.recordOf(room)!;
    const firstPid = await until('a recorder', () => record.session?.tracks()[0]?.pid ?? undefined);

    const told = lead.next('recordingError', undefined, 10_000);
    process.kill(firstPid, 'SIGKILL');
    const notice = await told;
    expect(notice.sessionId).toBe(info.sessionId);
    expect(notice.message).toMatch(
      /^马丽's microphone recorder stopped \(killed by SIGKILL.*\) and was restarted: recording goes on in part 2/,
    );
    const secondPid = await until('the new recorder', () => {
      const pid = record.session?.tracks()[0]?.pid;
      return pid && pid !== firstPid ? pid : undefined;
    });
    expect(record.session?.tracks()[0]?.segments?.map((s) => s.state)).toEqual(['failed', 'recording']);

    const ended = clinic.next('sessionEnded', undefined, 10_000);
    process.kill(env.server.pool.workers[room.workerIndex]!.worker.pid, 'SIGKILL');
    expect((await ended).reason).toBe('room_closed');
    const manifest = await until('the archived manifest', () => archivedManifests().find((m) => m.sessionId === info.sessionId));
    expect(manifest.status).toBe('interrupted');
    expect(manifest.interruption?.reason).toBe('the media worker process under this room died');
    expect(manifest.tracks[0]!.segments?.map((s) => s.index)).toEqual([1, 2]);
    // The second recorder was ended with the room (FFmpeg is ours, not the worker's): nothing left running.
    expect(existsSync(`/proc/${secondPid}`)).toBe(false);
  });
});
