/**
 * Event webhooks end to end: a two-site consultation in Chromium through the SDK (join, camera and
 * microphone, recording started and stopped, a leave, the consultation ended) on the built server
 * process, while the hospital's receiver is down (connection refused). The server is restarted with
 * the receiver still down; then the receiver comes up answering 500s, then loses its answers (so events
 * come again), then recovers. Every event
 * must arrive signed, be processed once per id by the receiver's de-duplication, in the order it
 * happened, with nothing lost across the restart.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { openSdkPage, sdkJoin, type SdkJoinSpec } from '../../bench/lib/sdkPage.js';
import { startServerProcess, type ServerHandle } from '../../bench/lib/serverProcess.js';
import { sha256Hex, type ManifestParticipant } from '../../recordings/index.js';
import { pseudonym } from '../../server/pseudonym.js';
import type { RoomEvent } from '../../server/events/types.js';
import { eventReceiver, type EventReceiver } from '../helpers/eventReceiver.js';
import { sleep, until } from '../helpers/until.js';
import { wangFang as wangFangPerson, zhaoLei as zhaoLeiPerson } from '../recordings/helpers/people.js';

const ROOM = 'mdt-hepatology-1130';
const CASE = 'CASE-GAN-2026-0412';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'telemed-events-e2e-'));
const pendingDir = path.join(dataDir, 'event-outbox', 'pending', 'event-webhook');
const camera = { width: 320, height: 180, frameRate: 15 };
/** The consultation's people (test/recordings/helpers/people.ts), joining through the SDK. */
const asJoin = (p: ManifestParticipant): SdkJoinSpec => ({
  identity: p.identity,
  name: p.name,
  role: p.role,
  room: ROOM,
  caseId: CASE,
  site: { id: p.siteId, name: p.siteName, level: p.siteLevel ?? 'county_hospital' },
  camera,
});
const wangFang = asJoin(wangFangPerson);
const zhaoLei = asJoin(zhaoLeiPerson);

let receiver: EventReceiver;
let browser: Browser;
let server: ServerHandle | undefined;

beforeAll(async () => {
  receiver = await eventReceiver(); // not started: the hospital's system is down
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.stop();
});

const env = () => ({
  DATA_DIR: dataDir,
  EVENT_WEBHOOK_URL: `${receiver.url}/his/telemed-events`,
  EVENT_WEBHOOK_SECRET: receiver.secret,
  OUTBOX_RETRY_BASE_MS: '100',
  OUTBOX_RETRY_MAX_MS: '1000',
  MEDIA_WORKERS: '1',
});
const start = () => startServerProcess(env(), path.join(dataDir, 'server.log'));

/** What the server holds on disk for the receiver, in queue order (file names sort in it). */
function pendingEvents(): RoomEvent[] {
  let files: string[];
  try {
    files = readdirSync(pendingDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(path.join(pendingDir, f), 'utf8')) as RoomEvent];
    } catch {
      return []; // delivered (and removed) while we looked
    }
  });
}

const waitPending = (what: string, check: (events: RoomEvent[]) => boolean) =>
  until(what, () => check(pendingEvents()) || undefined, 60_000, 200);
const count = (events: RoomEvent[], type: RoomEvent['type']) => events.filter((e) => e.type === type).length;
const inPage = <T>(page: Page, script: string) => page.evaluate(`(async () => { const c = window.t.client; ${script} })()`) as Promise<T>;

describe('event webhooks, receiver down across a server restart', () => {
  it('delivers every event of the consultation signed, once per id, in order', async () => {
    server = await start();
    const lead = await openSdkPage(browser, server.url);
    const doctor = await openSdkPage(browser, server.url);
    // The lead records from the start, before anyone publishes: the request starts no recorder itself
    // (each track's recorder starts as it is published), so it is answered in time on a loaded machine.
    expect(await sdkJoin(lead, { ...wangFang, publish: false })).toBe('joined');
    const { sessionId } = await inPage<{ sessionId: string }>(lead, 'return c.recording.start();');
    await inPage(lead, `await c.publishCamera({ constraints: ${JSON.stringify(camera)} }); await c.publishMicrophone();`);
    expect(await sdkJoin(doctor, zhaoLei)).toBe('joined');
    await waitPending('four tracks published', (e) => count(e, 'track_published') === 4);
    await sleep(2000); // some media in the files; nothing is asserted on this wait
    await inPage(lead, 'await c.recording.stop();');
    await waitPending('recording finished', (e) => count(e, 'recording_finished') === 1);
    await inPage(doctor, 'await c.leave();');
    // Ending closes the lead's own session too: its answer may be overtaken by the close, so the room's end is awaited instead.
    await inPage(lead, 'await c.moderation.endConsultation().catch(() => undefined);');
    await waitPending('room finished', (e) => count(e, 'room_finished') === 1);
    await Promise.all([lead.context().close(), doctor.context().close()]);

    // Restart while the receiver is still down: what waited is still there, in the same order.
    const queued = pendingEvents();
    await server.stop();
    server = await start();
    expect(pendingEvents().map((e) => e.id)).toEqual(queued.map((e) => e.id));

    // The receiver comes back answering 500s for a while, then recovers.
    receiver.mode = 'failing';
    await receiver.start();
    await until('500s answered and retried', () => receiver.failed >= 3 || undefined, 30_000);
    // Then takes events but its answers are lost: the server sends them again; de-duplication keeps one.
    receiver.mode = 'answer-lost';
    await until('events sent again after a lost answer', () => [...receiver.deliveries.values()].some((n) => n > 1) || undefined, 30_000);
    receiver.mode = 'up';
    await until(
      'everything delivered',
      () => (pendingEvents().length === 0 && receiver.processed.length >= queued.length) || undefined,
      60_000,
    );

    // Signed (nothing refused), each id processed once, in the order the events happened.
    expect(receiver.rejected).toEqual([]);
    const events = receiver.processed;
    expect(events.map((e) => e.id)).toEqual(queued.map((e) => e.id));
    expect(events.map((e) => e.room.seq)).toEqual(events.map((_, i) => i + 1));
    expect([...receiver.deliveries.keys()].sort()).toEqual(queued.map((e) => e.id).sort());
    expect(Math.max(...receiver.deliveries.values())).toBeGreaterThan(1); // at least once: some came twice, processed once

    const types = events.map((e) => e.type);
    expect(types[0]).toBe('room_started');
    expect(types.at(-1)).toBe('room_finished');
    expect(count(events, 'participant_joined')).toBe(2);
    expect(count(events, 'participant_left')).toBe(2);
    expect(count(events, 'track_published')).toBe(4);
    expect(count(events, 'track_unpublished')).toBe(4);
    // Each person: joined before their tracks, their tracks ended before they left.
    for (const who of [wangFang, zhaoLei]) {
      const mine = events.filter((e) => 'participant' in e && e.participant.pseudonym === pseudonym(who.identity)).map((e) => e.type);
      expect(mine[0]).toBe('participant_joined');
      expect(mine.at(-1)).toBe('participant_left');
    }
    expect(types.indexOf('recording_started')).toBeLessThan(types.indexOf('recording_finished'));

    // The recording's manifest hash is that of the manifest the case record archived.
    const finished = events.find((e) => e.type === 'recording_finished');
    if (finished?.type !== 'recording_finished') throw new Error('no recording_finished');
    const manifest = readFileSync(path.join(dataDir, 'case-records', CASE, `rec-${sessionId}`, 'manifest.json'));
    const tracks = (JSON.parse(manifest.toString('utf8')) as { tracks: unknown[] }).tracks.length;
    expect(finished.recording).toMatchObject({ sessionId, status: 'complete', tracks, manifestSha256: sha256Hex(manifest) });
    const ended = events.at(-1);
    expect(ended?.type === 'room_finished' && [ended.reason, ended.by?.site.id]).toEqual(['ended', 'prov-zl']);

    // Role, site and pseudonym: no real name or identity left this server.
    const bodies = receiver.requests.map((r) => r.body.toString('utf8')).join('\n');
    for (const secret of ['王芳', '赵磊', 'staff-30871', 'staff-61204']) expect(bodies).not.toContain(secret);
  }, 300_000); // two browsers, a recording, a restart and the receiver's recovery, on a shared 2-core machine
});
