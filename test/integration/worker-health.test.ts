/**
 * Worker health with real faults: the mediasoup worker process is stopped (SIGSTOP) or killed
 * (SIGKILL) under a running server, and the server must notice, tell the people concerned, keep
 * every socket answering, and say in /readyz what is wrong.
 *
 * Each test starts a server of its own (one worker) with the timings it needs, and resumes (SIGCONT)
 * any process it stopped and closes the server whatever happens.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { MediaServer } from '../../server/MediaServer.js';
import { connect, err, ok, type TestClient } from '../helpers/signalingClient.js';
import { startTestServer } from '../helpers/server.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';

const WANG_FANG: TokenSpec = {
  sub: 'wang-fang',
  name: '王芳',
  role: 'lead_specialist',
  site: { id: 'sl-zl', name: '省肿瘤医院', level: 'tertiary_hospital' },
  caseId: 'CASE-GAN-0117',
};
const ZHAO_LEI: TokenSpec = {
  sub: 'zhao-lei',
  name: '赵磊',
  role: 'clinic_doctor',
  site: { id: 'ap-xyy', name: '安平县医院', level: 'county_hospital' },
  caseId: 'CASE-GAN-0117',
};
const MA_LI: TokenSpec = {
  sub: 'ma-li',
  name: '马丽',
  role: 'clinic_doctor',
  site: { id: 'hq-wss', name: '红旗村卫生室', level: 'village_clinic' },
  caseId: 'CASE-GAN-0117',
};

interface Readiness {
  status: string;
  reasons: string[];
  workers: number;
}

async function readiness(server: MediaServer): Promise<{ code: number; body: Readiness }> {
  const res = await fetch(`${server.url}/readyz`);
  return { code: res.status, body: (await res.json()) as Readiness };
}

async function metrics(server: MediaServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

function workerPid(server: MediaServer): number {
  const worker = server.pool.workers[0]?.worker;
  if (!worker) throw new Error('no media worker is running');
  return worker.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Undoes a SIGSTOP, if the process is still there. */
function resume(pid: number | undefined): void {
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGCONT');
}

async function joinRoom(server: MediaServer, spec: TokenSpec, clients: TestClient[]): Promise<TestClient> {
  const client = await connect(server.url, token(spec));
  clients.push(client);
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const joined = ok(await client.request('join', { rtpCapabilities }));
  expect(joined.status).toBe('joined');
  return client;
}

/** A server of the test's own; `run` gets it, and the server and clients are closed after it whatever happens. */
async function withServer(env: Record<string, string>, run: (server: MediaServer, clients: TestClient[]) => Promise<void>): Promise<void> {
  const server = await startTestServer(env);
  const clients: TestClient[] = [];
  try {
    await run(server, clients);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
}

describe('a hung media worker', () => {
  it('is reported by /readyz, killed and replaced; its room is told; a new join works on the replacement', async () => {
    await withServer({ MEDIA_WORKER_PING_INTERVAL_MS: '500', MEDIA_WORKER_PING_TIMEOUT_MS: '1000' }, async (server, clients) => {
      const room = 'hung-worker-mdt';
      const wang = await joinRoom(server, { ...WANG_FANG, room }, clients);
      const zhao = await joinRoom(server, { ...ZHAO_LEI, room }, clients);
      expect((await readiness(server)).code).toBe(200);
      const pid = workerPid(server);
      const told = [wang, zhao].map((c) => c.next('sessionEnded', undefined, 10_000));

      const stoppedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      try {
        // Late: readiness names the worker before it is killed.
        const degraded = await until('/readyz to report the worker', async () => {
          const r = await readiness(server);
          return r.code === 503 ? r.body : undefined;
        });
        expect(degraded.status).toBe('degraded');
        expect(degraded.reasons.join('\n')).toMatch(new RegExp(`media worker 0 \\(pid ${pid}\\)|pid ${pid} stopped answering`));

        // Killed: both participants hear that their room closed.
        for (const ended of await Promise.all(told)) {
          expect(ended.reason).toBe('room_closed');
          expect(ended.message).toMatch(/media server process for this room stopped/);
        }
        const toldAfter = Date.now() - stoppedAt;
        expect(toldAfter).toBeLessThan(5000);

        // Replaced: a new worker process on the same port, readiness back to 200.
        const replacement = await until('a replacement worker', () => {
          const next = server.pool.workers[0]?.worker.pid;
          return next !== undefined && next !== pid ? next : undefined;
        });
        expect(alive(pid)).toBe(false);
        await until('/readyz back to ready', async () => ((await readiness(server)).code === 200 ? true : undefined));
        const readyAfter = Date.now() - stoppedAt;
        expect(readyAfter).toBeLessThan(6000);
        expect(await metrics(server)).toMatch(/^telemed_media_workers_hung_killed_total 1$/m);

        // The replacement takes the room again: join and get a transport from it.
        const ma = await joinRoom(server, { ...MA_LI, room }, clients);
        const transport = ok(await ma.request('createTransport', { direction: 'recv' }));
        expect(transport.iceCandidates[0]?.port).toBe(server.config.media.port);
        expect(workerPid(server)).toBe(replacement);
        console.info(`hung worker: told after ${toldAfter} ms, ready again after ${readyAfter} ms`);
      } finally {
        resume(pid);
      }
    });
  });
});

describe('a request whose worker does not answer', () => {
  it('is answered UNAVAILABLE within the bound, and the same socket keeps being answered', async () => {
    // The health check is slow here on purpose: only the request timeout acts.
    const env = { MEDIA_WORKER_PING_TIMEOUT_MS: '60000', SIGNALING_REQUEST_TIMEOUT_MS: '1000' };
    await withServer(env, async (server, clients) => {
      const wang = await joinRoom(server, { ...WANG_FANG, room: 'slow-worker-mdt' }, clients);
      const pid = workerPid(server);
      process.kill(pid, 'SIGSTOP');
      try {
        const sentAt = Date.now();
        const transport = wang.request('createTransport', { direction: 'recv' });
        await new Promise((r) => setTimeout(r, 100));
        // Queued behind the hung call: answered once that one's time is up, not after the worker resumes.
        const chat = wang.request('sendChat', { text: '请先看第三张CT片' });
        const refused = err(await transport);
        const refusedAfter = Date.now() - sentAt;
        expect(refused.code).toBe('UNAVAILABLE');
        expect(refused.message).toBe('the media server did not answer in time; please retry');
        expect(refusedAfter).toBeGreaterThanOrEqual(950);
        expect(refusedAfter).toBeLessThan(2000);
        expect(ok(await chat).message.text).toBe('请先看第三张CT片');
        const chatAfter = Date.now() - sentAt;
        expect(chatAfter).toBeLessThan(2000);
        // And a request sent now is answered at once, the hung call still pending in the worker.
        const askedAt = Date.now();
        ok(await wang.request('getRouterRtpCapabilities', {}));
        expect(Date.now() - askedAt).toBeLessThan(500);
        console.info(`request timeout: UNAVAILABLE after ${refusedAfter} ms, queued chat answered after ${chatAfter} ms`);
      } finally {
        resume(pid);
      }
    });
  });

  it('a join that completes after its UNAVAILABLE is undone, so the retry joins', async () => {
    const env = { MEDIA_WORKER_PING_TIMEOUT_MS: '60000', SIGNALING_REQUEST_TIMEOUT_MS: '1000' };
    await withServer(env, async (server, clients) => {
      const room = 'late-join-mdt';
      const zhao = await connect(server.url, token({ ...ZHAO_LEI, room }));
      clients.push(zhao);
      const { rtpCapabilities } = ok(await zhao.request('getRouterRtpCapabilities', {}));
      const pid = workerPid(server);
      process.kill(pid, 'SIGSTOP');
      try {
        // A new room needs a router from the stopped worker.
        const first = err(await zhao.request('join', { rtpCapabilities }));
        expect(first.code).toBe('UNAVAILABLE');
        // While the first join still runs, a second one is refused rather than racing it.
        const second = err(await zhao.request('join', { rtpCapabilities }));
        expect(second).toMatchObject({
          code: 'UNAVAILABLE',
          message: expect.stringMatching(/earlier join is still being completed/) as unknown,
        });
      } finally {
        resume(pid);
      }
      // The worker answers: the first join completes late and is undone; the client's retry joins.
      const retried = await until('the retried join', async () => {
        const ack = await zhao.request('join', { rtpCapabilities });
        if (ack.ok) return ack.data;
        expect(ack.error.code).toBe('UNAVAILABLE'); // never WRONG_STATE "already joined"
        return undefined;
      });
      expect(retried.status).toBe('joined');
      expect(server.rooms.get(room)?.size).toBe(1);
    });
  });
});

describe('a worker that cannot be restarted', () => {
  it('is given up loudly: /readyz says so, and a join is answered UNAVAILABLE', async () => {
    await withServer({ MEDIA_WORKER_RESTART_ATTEMPTS: '2' }, async (server, clients) => {
      const port = server.config.media.port;
      const pid = workerPid(server);
      const blocker = net.createServer();
      try {
        // Kill the worker and take its TCP port before the server hears of the death, so each restart
        // fails to listen. The kill is synchronous enough: wait (busily, not yielding to the event loop,
        // where the death would be handled) until the process is a zombie — its sockets are closed then.
        process.kill(pid, 'SIGKILL');
        const end = Date.now() + 2000;
        while (!['Z', undefined].includes(processState(pid)) && Date.now() < end);
        // With an IP literal, listen() binds before the event loop turns.
        blocker.listen({ port, host: '127.0.0.1' });

        const gaveUp = await until('the pool to give up', async () => {
          const r = await readiness(server);
          return r.body.reasons.some((x) => x.includes('given up')) ? r : undefined;
        });
        expect(gaveUp.code).toBe(503);
        expect(gaveUp.body.workers).toBe(0);
        expect(gaveUp.body.reasons[0]).toBe('no media worker is running');
        expect(gaveUp.body.reasons[1]).toMatch(/^media worker 0 could not be restarted and was given up \(2 restarts failed/);
        const text = await metrics(server);
        expect(text).toMatch(/^telemed_media_worker_restart_failures_total 2$/m);
        expect(text).toMatch(/^telemed_media_worker_deaths_total 1$/m);

        const ma = await connect(server.url, token({ ...MA_LI, room: 'no-worker-mdt' }));
        clients.push(ma);
        const { rtpCapabilities } = ok(await ma.request('getRouterRtpCapabilities', {}));
        const refused = err(await ma.request('join', { rtpCapabilities }));
        expect(refused).toMatchObject({ code: 'UNAVAILABLE', message: 'no media worker available right now; retry shortly' });
      } finally {
        blocker.close();
      }
    });
  });
});

/** The state letter of /proc/<pid>/stat ('R', 'S', 'T', 'Z', …), or undefined once the process is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}
