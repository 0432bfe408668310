/**
 * The operators' API beyond rooms, on a real server with two media workers and a webhook sink whose
 * receiver is down: the workers (pid, CPU, memory, what each carries, healthy), the case record
 * (entries handed over, what waits in the outbox, the last error) and a retry of one entry now,
 * once the receiver is back. Only an admin token opens any of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookReceiver, type WebhookReceiver } from '../helpers/caseRecordReceivers.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connect, fakeRtpParameters, ok } from '../helpers/signalingClient.js';
import { adminToken, token } from '../helpers/tokens.js';

let webhook: WebhookReceiver;
beforeAll(async () => {
  webhook = await webhookReceiver(); // not started: the hospital's system is down
});
afterAll(async () => {
  await webhook?.stop();
});
const env = useTestEnvironment({
  env: () => ({
    MEDIA_WORKERS: '2',
    ROOM_EMPTY_LINGER_SECONDS: '0',
    CASE_RECORD_SINKS: 'filesystem,webhook',
    WEBHOOK_URL: webhook.url,
    WEBHOOK_SECRET: webhook.secret,
    // The outbox's own retry would come only in minutes: an arrival within the test is the operator's retry.
    OUTBOX_RETRY_BASE_MS: '600000',
    OUTBOX_RETRY_MAX_MS: '600000',
  }),
});

const call = async (path: string, bearer = adminToken('ops-zhou-min'), method = 'GET') => {
  const response = await fetch(`${env.server.url}${path}`, { method, headers: { authorization: `Bearer ${bearer}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

interface Worker {
  index: number;
  state: string;
  pid: number;
  healthy: boolean;
  cpuPercent: number;
  peakMemoryBytes: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}
const workers = async () => (await call('/admin/workers')).body['workers'] as Worker[];
const carried = (list: Worker[], key: 'routers' | 'transports' | 'producers') => list.reduce((n, w) => n + w[key], 0);

interface Sink {
  sink: string;
  pending: number;
  oldestAgeSeconds: number | null;
  lastError: { entryId: string; message: string } | null;
  entries: { entryId: string; attempts: number; lastError: { message: string } | null }[];
}
interface CaseRecords {
  recent: { id: string; caseId: string; roomId: string; recording: boolean; deliveries: { sink: string; state: string }[] }[];
  outbox: { pending: number; oldestAgeSeconds: number | null; sinks: Sink[] };
}
const caseRecords = async () => (await call('/admin/case-records')).body as unknown as CaseRecords;

describe('admin API: workers and the case record', () => {
  it('refuses an access token on every new endpoint and accepts an admin token', async () => {
    const access = token({ name: '王芳', role: 'lead_specialist', room: 'mdt-ops-0101' });
    for (const [path, method] of [
      ['/admin/workers', 'GET'],
      ['/admin/case-records', 'GET'],
      ['/admin/case-records/audit-x/retry', 'POST'],
    ] as const) {
      const refused = await call(path, access, method);
      expect(refused.status, path).toBe(401);
      expect((refused.body['error'] as { code: string }).code).toBe('UNAUTHENTICATED');
    }
    expect((await call('/admin/workers')).status).toBe(200);
    expect((await call('/admin/case-records')).status).toBe(200);
    // Nothing of that id waits: the retry says so.
    expect((await call('/admin/case-records/audit-x/retry', adminToken(), 'POST')).status).toBe(404);
  });

  it('shows each worker: pid, healthy, CPU and memory, and the room it carries', async () => {
    const idle = await workers();
    expect(idle.map((w) => w.index)).toEqual([0, 1]);
    const pids = env.server.pool.workers.map((w) => w.worker.pid).sort();
    expect(idle.map((w) => w.pid).sort()).toEqual(pids);
    for (const w of idle) {
      expect(w).toMatchObject({ state: 'running', healthy: true });
      expect(w.peakMemoryBytes).toBeGreaterThan(1024 * 1024);
      expect(w.cpuPercent).toBeGreaterThanOrEqual(0);
    }
    expect(carried(idle, 'routers')).toBe(0);

    const wang = env.track(
      await connect(env.server.url, token({ sub: 'wang-fang', name: '王芳', role: 'lead_specialist', room: 'mdt-ops-0102' })),
    );
    const { rtpCapabilities } = ok(await wang.request('getRouterRtpCapabilities', {}));
    ok(await wang.request('join', { rtpCapabilities }));
    const send = ok(await wang.request('createTransport', { direction: 'send' }));
    ok(
      await wang.request('produce', {
        transportId: send.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: fakeRtpParameters('audio', 2222),
      }),
    );
    const busy = await workers();
    expect([carried(busy, 'routers'), carried(busy, 'transports'), carried(busy, 'producers')]).toEqual([1, 1, 1]);
    // The room's router sits on one worker, which carries all of it.
    expect(busy.filter((w) => w.routers === 1 && w.transports === 1 && w.producers === 1)).toHaveLength(1);

    ok(await wang.request('leave', {}));
    await expect.poll(async () => carried(await workers(), 'routers'), { timeout: 5000 }).toBe(0);
    expect(carried(await workers(), 'transports')).toBe(0);
  });

  it('lists the entries handed over, what waits for the webhook and why; a retry delivers it once the receiver is back', async () => {
    const room = 'mdt-ops-0103';
    const zhao = env.track(
      await connect(
        env.server.url,
        token({
          sub: 'zhao-lei',
          name: '赵磊',
          role: 'clinic_doctor',
          room,
          caseId: 'CASE-OPS-7',
          site: { id: 'apx', name: '安平县医院', level: 'county_hospital' },
        }),
      ),
    );
    const { rtpCapabilities } = ok(await zhao.request('getRouterRtpCapabilities', {}));
    ok(await zhao.request('join', { rtpCapabilities }));
    ok(await zhao.request('leave', {})); // the room closes: its trail goes to the case record

    // Archived at once; the webhook's first attempt fails (connection refused) and the next is minutes away.
    let entryId = '';
    await expect
      .poll(
        async () => {
          const state = await caseRecords();
          const entry = state.recent.find((e) => e.roomId === room);
          entryId = entry?.id ?? '';
          return entry !== undefined && state.outbox.sinks.find((s) => s.sink === 'webhook')?.lastError?.entryId === entry.id;
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    const waiting = await caseRecords();
    expect(waiting.recent.find((e) => e.id === entryId)).toMatchObject({
      caseId: 'CASE-OPS-7',
      recording: false,
      deliveries: [{ sink: 'webhook', state: 'pending' }],
    });
    // The earlier test's room waits too: both entries, oldest first.
    const earlier = waiting.recent.find((e) => e.roomId === 'mdt-ops-0102')!.id;
    expect(waiting.outbox.pending).toBe(2);
    expect(waiting.outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    const sink = waiting.outbox.sinks.find((s) => s.sink === 'webhook')!;
    expect(sink.entries.map((e) => e.entryId)).toEqual([earlier, entryId]);
    expect(sink.entries[1]).toMatchObject({ entryId, attempts: 1 });
    expect(sink.entries[1]!.lastError!.message).not.toBe('');

    await webhook.start();
    const retried = await call(`/admin/case-records/${entryId}/retry`, adminToken('ops-zhou-min'), 'POST');
    expect(retried).toEqual({ status: 202, body: { entryId, sinks: ['webhook'] } });
    await expect.poll(() => webhook.deliveries.get(entryId), { timeout: 10_000 }).toBe(1);
    expect(webhook.rejected).toEqual([]);
    await expect.poll(async () => (await caseRecords()).outbox.pending, { timeout: 5000 }).toBe(1);
    // Only that entry: the other waits for its own turn (or its own retry).
    const done = await caseRecords();
    expect(done.recent.find((e) => e.id === entryId)!.deliveries).toEqual([{ sink: 'webhook', state: 'delivered' }]);
    expect(done.recent.find((e) => e.id === earlier)!.deliveries).toEqual([{ sink: 'webhook', state: 'pending' }]);
    expect(webhook.deliveries.has(earlier)).toBe(false);
    // Delivered: nothing is left to retry.
    expect((await call(`/admin/case-records/${entryId}/retry`, adminToken(), 'POST')).status).toBe(404);
  });
});
