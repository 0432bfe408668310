/**
 * A recorded three-site consultation in real browsers. After stop, every track has its own file that
 * ffprobe reads, lasting as long as it was recorded, decoding without error, matching the SHA-256 of
 * the manifest; the audit trail says who started, acknowledged and stopped; a late joiner was told;
 * the entry reached the archive, a signed webhook (verified) and a FHIR endpoint (validated); the
 * recordings are readable over HTTP only with a token for that case.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecordEntry } from '../../recordings/index.js';
import { fhirReceiver, webhookReceiver, type FhirReceiver, type WebhookReceiver } from '../helpers/caseRecordReceivers.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';
import { connectAndJoin, err, ok } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { decodeErrors } from '../recordings/helpers/files.js';

const run = promisify(execFile);
const ROOM = 'e2e-recorded';
const CASE = 'CASE-ONC-2026-17';
const RECORD_SECONDS = 6;

let webhook: WebhookReceiver;
let fhir: FhirReceiver;
beforeAll(async () => {
  webhook = await webhookReceiver();
  fhir = await fhirReceiver();
  await webhook.start();
  await fhir.start();
});
afterAll(async () => {
  await webhook?.stop();
  await fhir?.stop();
});
const env = useTestEnvironment({
  browser: true,
  env: () => ({
    CASE_RECORD_SINKS: 'filesystem,webhook,fhir',
    WEBHOOK_URL: webhook.url,
    WEBHOOK_SECRET: webhook.secret,
    FHIR_BASE_URL: fhir.url,
    OUTBOX_RETRY_BASE_MS: '100',
  }),
});

const people = [
  {
    identity: 'prof-he',
    name: 'Prof. He',
    role: 'lead_specialist',
    site: { id: 'prov', name: 'Provincial Cancer Hospital', level: 'tertiary_hospital' as const },
  },
  {
    identity: 'dr-ma',
    name: 'Dr. Ma',
    role: 'clinic_doctor',
    site: { id: 'anping', name: 'Anping County Hospital', level: 'county_hospital' as const },
  },
  {
    identity: 'dr-yu',
    name: 'Dr. Yu',
    role: 'clinic_doctor',
    site: { id: 'xishan', name: 'Xishan Village Clinic', level: 'village_clinic' as const },
  },
];
const pages: Page[] = [];
const sdk = (page: Page, fn: string) =>
  page.evaluate((fn) => {
    const rec = (window as unknown as { t: { client: { recording: Record<string, () => Promise<unknown>> } } }).t.client.recording;
    return rec[fn]!().then(
      (v) => JSON.parse(JSON.stringify(v ?? null)) as unknown,
      (e: { code?: string }) => ({ error: e.code }),
    );
  }, fn);

async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('recording a three-site consultation into the case record', () => {
  let entry: CaseRecordEntry;
  let sessionId: string;

  it('records every track while everyone is told, and hands the result to every sink', async () => {
    for (const p of people) {
      const page = await openSdkPage(env.browser, env.server.url);
      expect(await sdkJoin(page, { ...p, room: ROOM, caseId: CASE, camera: { width: 640, height: 360, frameRate: 15 } })).toBe('joined');
      pages.push(page);
    }
    await new Promise((r) => setTimeout(r, 1500)); // every camera and microphone is flowing

    // Without the grant: refused, and nothing starts.
    expect(await sdk(pages[1]!, 'start')).toEqual({ error: 'FORBIDDEN' });
    expect(env.server.rooms.get(ROOM)?.recording).toBeNull();

    const started = (await sdk(pages[0]!, 'start')) as { sessionId: string; startedBy: { displayName: string } };
    sessionId = started.sessionId;
    expect(started.startedBy.displayName).toBe('Prof. He');
    for (const page of pages.slice(1)) {
      await page.waitForFunction(
        () => (window as unknown as { t: { client: { recording: { active: boolean } } } }).t.client.recording.active,
      );
      expect(await sdk(page, 'acknowledge')).toBeNull();
    }
    const late = await connectAndJoin(
      env.server.url,
      token({ room: ROOM, caseId: CASE, role: 'observer', sub: 'trainee-late', name: 'Trainee Late' }),
    );
    env.track(late.client);
    const lateJoin = ok(late.ack);
    expect(lateJoin.status === 'joined' && lateJoin.recording).toMatchObject({ sessionId, startedBy: { displayName: 'Prof. He' } });
    ok(await late.client.request('acknowledgeRecording', { sessionId }));
    expect(err(await late.client.request('acknowledgeRecording', { sessionId: 'not-this-one' })).code).toBe('WRONG_STATE');

    await new Promise((r) => setTimeout(r, RECORD_SECONDS * 1000));
    expect(await sdk(pages[0]!, 'stop')).toBeNull();

    const archiveDir = path.join(env.server.records.archive.root, CASE, `rec-${sessionId}`);
    entry = await waitFor('the archived entry', () => {
      try {
        return JSON.parse(readFileSync(path.join(archiveDir, 'entry.json'), 'utf8')) as CaseRecordEntry;
      } catch {
        return undefined;
      }
    });
    expect(entry.manifest?.status).toBe('complete');
    expect(entry.manifest?.tracks).toHaveLength(6);
    expect(new Set(entry.manifest?.participants.map((p) => p.siteName))).toEqual(
      new Set([...people.map((p) => p.site.name), 'Provincial Cancer Hospital']),
    );
  });

  it('every file is readable, as long as recorded, decodes cleanly and matches its SHA-256', async () => {
    for (const track of entry.manifest!.tracks) {
      const file = entry.files.find((f) => f.trackId === track.trackId)!;
      expect(track.status).toBe('complete');
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', file.path]);
      const duration = Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration);
      const wallClock = (Date.parse(track.endedAt!) - Date.parse(track.startedAt)) / 1000;
      expect(Math.abs(duration - wallClock), `${track.file}: ${duration}s vs ${wallClock}s`).toBeLessThan(1.2);
      expect(duration).toBeGreaterThan(RECORD_SECONDS - 1.5);
      expect(await decodeErrors(file.path), track.file).toBe('');
      expect(createHash('sha256').update(readFileSync(file.path)).digest('hex')).toBe(track.sha256);
    }
  });

  it('the audit trail shows who started, acknowledged and stopped, and from which site', () => {
    const types = entry.auditTrail.map((e) => e.type);
    for (const t of ['participant_joined', 'published', 'recording_started', 'recording_acknowledged', 'recording_stopped'])
      expect(types).toContain(t);
    const acks = entry.auditTrail.filter((e) => e.type === 'recording_acknowledged').map((e) => e.actor?.name);
    expect(acks.sort()).toEqual(['Dr. Ma', 'Dr. Yu', 'Trainee Late']);
    expect(entry.auditTrail.find((e) => e.type === 'recording_started')?.actor).toMatchObject({
      name: 'Prof. He',
      siteName: 'Provincial Cancer Hospital',
    });
    expect(entry.auditTrail.find((e) => e.type === 'participant_joined' && e.actor?.name === 'Dr. Yu')?.actor?.siteName).toBe(
      'Xishan Village Clinic',
    );
  });

  it('the signed webhook and the FHIR endpoint each received the entry exactly once', async () => {
    const id = `rec-${sessionId}`;
    await waitFor('webhook delivery', () => webhook.entries.get(id));
    await waitFor('FHIR delivery', () => (fhir.documents.length > 0 ? true : undefined));
    expect(webhook.rejected).toEqual([]);
    expect(webhook.deliveries.get(id)).toBe(1);
    expect(
      webhook.entries
        .get(id)
        ?.files.map((f) => f.sha256)
        .sort(),
    ).toEqual(entry.files.map((f) => f.sha256).sort());
    const doc = fhir.documents.find((d) => JSON.stringify(d.resource).includes(id));
    expect(doc?.valid, doc?.problems).toBe(true);
  });

  it('serves recordings over HTTP only with a token for that case', async () => {
    const mint = async (caseId: string) =>
      (
        (await (
          await fetch(`${env.server.url}/dev/recording-token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ caseId }),
          })
        ).json()) as { token: string }
      ).token;
    const list = `${env.server.url}/recordings/${CASE}`;
    expect((await fetch(list)).status).toBe(401);
    expect((await fetch(list, { headers: { authorization: `Bearer ${await mint('CASE-OTHER')}` } })).status).toBe(403);
    const access = await mint(CASE);
    const listing = (await (await fetch(list, { headers: { authorization: `Bearer ${access}` } })).json()) as {
      entries: { id: string; files: { url: string; sha256: string }[] }[];
    };
    const rec = listing.entries.find((e) => e.id === `rec-${sessionId}`)!;
    const file = rec.files[0]!;
    const bearer = { headers: { authorization: `Bearer ${access}` } };
    const bytes = Buffer.from(await (await fetch(`${env.server.url}${file.url}`, bearer)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    expect((await fetch(`${env.server.url}/recordings/${CASE}/rec-${sessionId}/..%2F..%2Fentry.json`, bearer)).status).toBe(404);
  });
});
