/**
 * The server process dies (SIGKILL) in the middle of a recording and is started again on the same
 * data folder: the recording is closed out from the files that survived, its manifest marked
 * interrupted, and it reaches the case record (archive and signed webhook) without anyone asking.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerHandle } from '../../bench/lib/serverProcess.js';
import type { CaseRecordEntry } from '../../recordings/index.js';
import { launchChromium } from '../../bench/lib/browser.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/caseRecordReceivers.js';
import { openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';

const CASE = 'CASE-CRASH-1';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'telemed-crash-'));
let webhook: WebhookReceiver;
let browser: Browser;
let server: ServerHandle | undefined;

beforeAll(async () => {
  webhook = await webhookReceiver();
  await webhook.start();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await webhook?.stop();
});

/** Starts the server, joins a publishing lead in Chromium and starts recording; returns the session id. */
async function recordingStarted(identity: string, room: string): Promise<{ sessionId: string; close(): Promise<void> }> {
  // A server left by the test before (restarted after its crash) is stopped first: never orphaned.
  await server?.stop();
  server = await startServerProcess(sinks(), path.join(dataDir, 'server.log'));
  const page = await openSdkPage(browser, server.url);
  expect(
    await sdkJoin(page, {
      identity,
      name: `Prof. ${identity}`,
      role: 'lead_specialist',
      room,
      caseId: CASE,
      camera: { width: 640, height: 360, frameRate: 15 },
    }),
  ).toBe('joined');
  await new Promise((r) => setTimeout(r, 1000));
  const { sessionId } = await page.evaluate(() =>
    (window as unknown as { t: { client: { recording: { start(): Promise<{ sessionId: string }> } } } }).t.client.recording.start(),
  );
  return { sessionId, close: () => page.context().close() };
}

const sinks = () => ({
  DATA_DIR: dataDir,
  CASE_RECORD_SINKS: 'filesystem,webhook',
  WEBHOOK_URL: webhook.url,
  WEBHOOK_SECRET: webhook.secret,
  OUTBOX_RETRY_BASE_MS: '100',
  MEDIA_WORKERS: '1',
});

describe('crash during a recording', () => {
  it('SIGKILL mid-recording, restart: the entry is delivered, marked interrupted, with the surviving files', async () => {
    const { sessionId, close } = await recordingStarted('crash', 'crash-room');
    await new Promise((r) => setTimeout(r, 4000));

    await server!.kill();
    await close();
    server = await startServerProcess(sinks(), path.join(dataDir, 'server.log'));

    const id = `rec-${sessionId}`;
    const deadline = Date.now() + 30_000;
    while (!webhook.entries.has(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const delivered = webhook.entries.get(id);
    expect(delivered, 'webhook delivery after restart').toBeDefined();
    expect(webhook.deliveries.get(id)).toBe(1);
    expect(delivered!.manifest?.status).toBe('interrupted');
    expect(delivered!.files.length).toBeGreaterThanOrEqual(1);
    for (const track of delivered!.manifest!.tracks) expect(['recovered', 'complete']).toContain(track.status);
    expect(delivered!.manifest!.tracks.some((t) => (t.durationSeconds ?? 0) > 2)).toBe(true);

    const archived = JSON.parse(readFileSync(path.join(dataDir, 'case-records', CASE, id, 'entry.json'), 'utf8')) as CaseRecordEntry;
    expect(archived.manifest?.status).toBe('interrupted');
    expect(archived.auditTrail.map((e) => e.type)).toEqual(expect.arrayContaining(['recording_started', 'recording_interrupted']));
    // The room's own audit trail, never closed by the dead process, is handed over too (the outbox
    // delivers it after the recording entry: wait for it within the same bound).
    const hasTrail = () => [...webhook.entries.keys()].some((k) => k.startsWith('audit-'));
    while (!hasTrail() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(hasTrail()).toBe(true);
  });

  it('SIGTERM mid-recording: recordings are finished cleanly and delivered before the process exits', async () => {
    const { sessionId, close } = await recordingStarted('term', 'term-room');
    await new Promise((r) => setTimeout(r, 3000));
    await server!.stop(); // SIGTERM, and wait for the exit
    server = undefined;
    await close();
    const delivered = webhook.entries.get(`rec-${sessionId}`);
    expect(delivered?.manifest?.status).toBe('complete');
    expect(delivered?.manifest?.tracks.every((t) => t.status === 'complete')).toBe(true);
    expect(delivered?.manifest?.stoppedBy).toBeNull();
  });
});
