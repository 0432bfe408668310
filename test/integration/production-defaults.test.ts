/**
 * What an attacker on this machine, a DNS-rebinding page or a log reader gets from a real server:
 * development token minting only for loopback host names and loopback pages (and not at all in
 * production), recordings only with the token in the Authorization header, refusals that do not echo
 * the expected audience, explicit CORS origins in production, and info-level logs without real names.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaServer } from '../../server/MediaServer.js';
import { pseudonym } from '../../server/pseudonym.js';
import { startTestServer } from '../helpers/server.js';
import { connect, connectAndJoin, ok } from '../helpers/signalingClient.js';
import { TEST_AUDIENCE, token } from '../helpers/tokens.js';

const CASE = 'CASE-SLZL-0412';
const HOSPITAL_ORIGIN = 'https://consult.slzl-hospital.example';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: fetch() will not let a test choose the Host header, which is the point here. */
function send(server: MediaServer, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const mintBody = {
  identity: 'zhaolei-apx',
  name: '赵磊',
  role: 'specialist',
  site: { id: 'apx', name: '安平县医院', level: 'county_hospital' },
  room: 'room-slzl',
  kind: 'consultation',
  caseId: CASE,
};

describe('development server', () => {
  let server: MediaServer;
  /** Every line the server logged, parsed; the logger takes debug too so the test can tell levels apart. */
  const lines: { level: number; msg: string; raw: string }[] = [];

  beforeAll(async () => {
    const capture = {
      write(line: string) {
        const parsed = JSON.parse(line) as { level: number; msg: string };
        lines.push({ level: parsed.level, msg: parsed.msg, raw: line });
      },
    };
    server = await startTestServer({ APP_MODE: 'development' }, pino({ level: 'debug' }, capture));
  });
  afterAll(() => server.close());

  it('mints development tokens only for loopback host names at this port, and only to loopback pages', async () => {
    const port = server.port;
    for (const path of ['/dev/token', '/dev/recording-token']) {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
        const reply = await send(server, 'POST', path, { host, origin: `http://${host.toLowerCase()}` }, mintBody);
        expect(reply.status, `${path} Host ${host}`).toBe(200);
        expect(JSON.parse(reply.body)).toHaveProperty('token');
      }
      // DNS rebinding: the attacker's name resolves to 127.0.0.1, the request still carries it.
      for (const host of [
        `evil.example:${port}`,
        'evil.example',
        `127.0.0.1:${port + 1}`,
        `127.0.0.1.evil.example:${port}`,
        `10.0.0.8:${port}`,
      ]) {
        const reply = await send(server, 'POST', path, { host }, mintBody);
        expect(reply.status, `${path} Host ${host}`).toBe(403);
        expect(reply.body).not.toContain('token"');
        expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
      }
      // Another site's page (or a sandboxed one) calling across.
      for (const origin of ['https://evil.example', 'null', `http://evil.example:${port}`, `https://127.0.0.1:${port}`]) {
        const reply = await send(server, 'POST', path, { host: `127.0.0.1:${port}`, origin }, mintBody);
        expect(reply.status, `${path} Origin ${origin}`).toBe(403);
        expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringMatching(/another site/) } });
      }
    }
  });

  it('serves recordings for a token in the Authorization header only, never from the query string', async () => {
    const minted = await send(server, 'POST', '/dev/recording-token', { host: `127.0.0.1:${server.port}` }, { caseId: CASE });
    const access = (JSON.parse(minted.body) as { token: string }).token;
    const host = { host: `127.0.0.1:${server.port}` };

    const viaQuery = await send(server, 'GET', `/recordings/${CASE}?access_token=${access}`, host);
    expect(viaQuery.status).toBe(401);
    expect(JSON.parse(viaQuery.body)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    const viaHeader = await send(server, 'GET', `/recordings/${CASE}`, { ...host, authorization: `Bearer ${access}` });
    expect(viaHeader.status).toBe(200);
    expect(JSON.parse(viaHeader.body)).toMatchObject({ caseId: CASE, entries: [] });
  });

  it('refuses a token for another audience without telling which audience it expects', async () => {
    const foreign = token({}, { audience: 'his-portal' });
    const reply = await send(server, 'GET', `/recordings/${CASE}`, {
      host: `127.0.0.1:${server.port}`,
      authorization: `Bearer ${foreign}`,
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatch(/audience/);
    expect(reply.body).not.toContain(TEST_AUDIENCE);

    const refused = await connect(server.url, foreign).then(
      (c) => {
        c.close();
        throw new Error('a token for another audience opened signaling');
      },
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/audience/);
    expect(refused).not.toContain(TEST_AUDIENCE);
  });

  it('lets any page open signaling in development (CORS `*`)', async () => {
    const reply = await send(server, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'http://localhost:5173' });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('logs people by pseudonym at info: 王芳 joins and leaves, and neither her name nor her identity is in an info line', async () => {
    const wangfang = {
      sub: 'wangfang-slzl-0731',
      name: '王芳',
      role: 'specialist' as const,
      site: { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' as const },
      room: 'room-slzl-logs',
      caseId: CASE,
    };
    const before = lines.length;
    const { client, ack } = await connectAndJoin(server.url, token(wangfang));
    expect(ok(ack)).toMatchObject({ status: 'joined' });
    ok(await client.request('leave', {}));
    client.close();
    await expect.poll(() => lines.slice(before).some((l) => l.msg === 'participant left')).toBe(true);

    const info = lines.slice(before).filter((l) => l.level >= 30);
    // The join is logged, and can be traced to her by whoever knows her identity.
    const joined = info.find((l) => l.msg === 'participant joined');
    expect(joined?.raw).toContain(pseudonym(wangfang.sub));
    for (const line of info) {
      expect(line.raw).not.toContain('王芳');
      expect(line.raw).not.toContain(wangfang.sub);
      expect(line.raw).not.toContain('省肿瘤医院');
    }
  });
});

describe('production server', () => {
  let server: MediaServer;
  beforeAll(async () => {
    server = await startTestServer({
      APP_MODE: 'production',
      CORS_ORIGINS: HOSPITAL_ORIGIN,
      AUDIT_SEAL_KEY: randomBytes(32).toString('hex'),
    });
  });
  afterAll(() => server.close());

  it('has no development endpoints at all, even for loopback', async () => {
    for (const path of ['/dev/token', '/dev/recording-token']) {
      const reply = await send(server, 'POST', path, { host: `127.0.0.1:${server.port}` }, mintBody);
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('token"');
    }
  });

  it("opens signaling across origins only for the configured hospital page's origin", async () => {
    const hospital = await send(server, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: HOSPITAL_ORIGIN });
    expect(hospital.headers['access-control-allow-origin']).toBe(HOSPITAL_ORIGIN);
    const other = await send(server, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'https://evil.example' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
