/**
 * Signed webhook delivery through the durable outbox, against a real HTTP receiver on 127.0.0.1 that
 * verifies every signature: down at first (connection refused), then answering an error, then up.
 * Each entry must arrive exactly once, across outbox restarts.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox, signWebhook, verifyWebhook, WebhookSink, type CaseRecordEntry, type WebhookBody } from '../../recordings/index.js';
import { syntheticAuditEntry, syntheticRecordingEntry } from './helpers/entries.js';
import { removeTempDirs, sleep, tempDir, testLog } from './helpers/files.js';
import { createReceiver, type Receiver } from './helpers/receiver.js';

const SECRET = randomBytes(32).toString('hex');
const receivers: Receiver[] = [];
const outboxes: Outbox[] = [];

afterAll(async () => {
  for (const o of outboxes) await o.close();
  for (const r of receivers) await r.stop();
  removeTempDirs();
});

function open(dir: string, sink: WebhookSink): Outbox {
  const outbox = Outbox.open({ dir, sinks: [sink], log: testLog, baseDelayMs: 50, maxDelayMs: 400, jitter: 0.5 });
  outboxes.push(outbox);
  return outbox;
}

describe('WebhookSink + Outbox', () => {
  it('delivers each entry once: receiver down, then failing, then up; restarts do not redeliver', async () => {
    const accepted = new Map<string, number>();
    let answered = 0;
    const receiver = await createReceiver((req) => {
      const check = verifyWebhook(req.body, req.headers, SECRET);
      if (!check.ok) return { status: 401, body: { error: check.reason } };
      if (answered++ === 0) return { status: 503, body: { error: 'record system busy' } }; // first answer: an error
      const key = check.idempotencyKey ?? '';
      accepted.set(key, (accepted.get(key) ?? 0) + 1);
      return { status: 200, body: { ok: true } };
    });
    receivers.push(receiver);
    const sink = new WebhookSink({ url: `${receiver.url}/case-records`, secret: SECRET });
    const dir = tempDir();
    const entries: CaseRecordEntry[] = [syntheticAuditEntry(1), syntheticAuditEntry(2), await syntheticRecordingEntry(tempDir())];

    // 1. Receiver down: every attempt is refused and retried; entries wait on disk.
    const first = open(dir, sink);
    let refused = 0;
    first.on('retrying', () => refused++);
    const queuedAt = Date.now();
    for (const e of entries) first.enqueue(e);
    expect(first.pendingCount()).toBe(3);
    expect(first.oldestPendingSince()).toBeGreaterThanOrEqual(queuedAt);
    expect(readdirSync(path.join(dir, 'pending', 'webhook'))).toHaveLength(3);
    for (const deadline = Date.now() + 5000; refused < 6 && Date.now() < deadline;) await sleep(20);
    expect(refused).toBeGreaterThanOrEqual(6);
    await first.close(); // the server stops with the receiver still down

    // 2. Restart: the pending entries are read back; the receiver comes up and answers one error first.
    await receiver.start();
    const reopenedAt = Date.now();
    const second = open(dir, sink);
    expect(second.pendingCount('webhook')).toBe(3);
    // How long they have waited survives the restart (read from the files), for /metrics.
    expect(second.oldestPendingSince()).toBeLessThan(reopenedAt);
    expect(second.oldestPendingSince()).toBeGreaterThanOrEqual(queuedAt - 1000);
    expect(await second.whenIdle(10_000)).toBe(true);
    expect(second.oldestPendingSince()).toBeUndefined();
    expect([...accepted.entries()].sort()).toEqual(entries.map((e) => [e.id, 1]).sort());
    expect(answered).toBe(4); // the 503 was retried, not taken as delivered
    expect(readdirSync(path.join(dir, 'delivered', 'webhook'))).toHaveLength(3);
    expect(readdirSync(path.join(dir, 'pending', 'webhook'))).toHaveLength(0);
    for (const e of entries) expect(second.isDelivered('webhook', e.id)).toBe(true);
    await second.close();

    // 3. Restart again and enqueue the same entries: nothing is sent twice.
    const requestsBefore = receiver.requests.length;
    const third = open(dir, sink);
    for (const e of entries) third.enqueue(e);
    expect(third.pendingCount()).toBe(0);
    await sleep(300);
    expect(receiver.requests.length).toBe(requestsBefore);

    // What arrived: the entry without local paths, signed, with the idempotency key.
    const last = receiver.requests.at(-1)!;
    const body = JSON.parse(last.body.toString()) as WebhookBody;
    expect(body.event).toBe('case_record');
    expect(last.headers['idempotency-key']).toBe(body.entry.id);
    expect(last.headers['authorization']).toMatch(/^Bearer /);
    expect(last.headers['x-telemed-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const rec = receiver.requests.map((r) => JSON.parse(r.body.toString()) as WebhookBody).find((b) => b.entry.files.length > 0)!;
    expect(rec.entry.files[0]).not.toHaveProperty('path');
    expect(rec.entry.files[0]).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('verifyWebhook refuses tampered bodies, wrong secrets, expired or unsigned tokens', () => {
    const body = JSON.stringify({ event: 'case_record', entry: { id: 'rec-1' } });
    const headers = signWebhook(body, SECRET);
    expect(verifyWebhook(body, headers, SECRET)).toMatchObject({ ok: true, claims: { iss: 'telemed-sfu', aud: 'case-record' } });
    expect(verifyWebhook(Buffer.from(body), new Headers(headers), SECRET).ok).toBe(true);
    expect(verifyWebhook(body.replace('rec-1', 'rec-2'), headers, SECRET)).toMatchObject({ ok: false, reason: /HMAC/ });
    expect(verifyWebhook(body, headers, randomBytes(32).toString('hex'))).toMatchObject({ ok: false });
    expect(verifyWebhook(body, { ...headers, authorization: '' }, SECRET)).toMatchObject({ ok: false, reason: /bearer/ });
    // A token for another body (HMAC header valid for this one) is refused.
    const other = signWebhook('{"other":true}', SECRET);
    expect(verifyWebhook(body, { ...headers, authorization: other['authorization']! }, SECRET)).toMatchObject({
      ok: false,
      reason: /token hash/,
    });
    // Expired, and unsigned (alg none), tokens are refused.
    const sha256 = headers['x-telemed-signature']!; // reuse the valid HMAC header
    const expired = jwt.sign({ sha256: 'x', iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 }, SECRET, {
      algorithm: 'HS256',
      issuer: 'telemed-sfu',
      audience: 'case-record',
    });
    expect(verifyWebhook(body, { 'x-telemed-signature': sha256, authorization: `Bearer ${expired}` }, SECRET)).toMatchObject({
      ok: false,
      reason: /expired/,
    });
    const none = jwt.sign({ sha256: 'x' }, '', { algorithm: 'none', issuer: 'telemed-sfu', audience: 'case-record' } as jwt.SignOptions);
    expect(verifyWebhook(body, { 'x-telemed-signature': sha256, authorization: `Bearer ${none}` }, SECRET)).toMatchObject({ ok: false });
  });

  it('refuses a short secret and non-http URLs at construction', () => {
    expect(() => new WebhookSink({ url: 'http://127.0.0.1:1/x', secret: 'short' })).toThrow(/32/);
    expect(() => new WebhookSink({ url: 'file:///etc/passwd', secret: SECRET })).toThrow(/http/);
  });
});
