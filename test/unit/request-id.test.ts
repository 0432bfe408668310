/**
 * Request ids in the logs: every line written while a signaling request is handled — by its
 * handler, with the connection's logger (room bound), or by the room core with a logger of its own —
 * carries that request's id, each request a new one; a line written later by work the request left
 * behind (a timer) carries none. HTTP requests keep a usable incoming X-Request-Id, replace an
 * unusable one, make one when none is sent, answer it in the header and log it. Signaling outcomes
 * are counted for /metrics.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../server/auth/TokenVerifier.js';
import { requestIds } from '../../server/http/requestId.js';
import { createLogger, type Logger } from '../../server/logger.js';
import type { RoomRegistry } from '../../server/rooms/RoomRegistry.js';
import { dispatch, inStates, type HandlerContext, type HandlerTable, type RequestOutcome } from '../../server/signaling/dispatcher.js';
import { HANDLERS } from '../../server/signaling/handlers/index.js';
import { Session } from '../../server/signaling/Session.js';
import { ProtocolError } from '../../signaling/protocol/index.js';

const principal: Principal = {
  sub: 'li-na',
  name: '李娜',
  role: 'clinic_doctor',
  site: { id: 'qingshui', name: '清水镇卫生院', level: 'township_health_centre' },
  room: 'mdt-gastro-1130',
  kind: 'consultation',
  caseId: 'CASE-GI-0088',
};

/** A logger whose JSON lines the test reads. */
function capturedLogger(level = 'info'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger(level, sink);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function context(log: Logger, outcomes: RequestOutcome[]): HandlerContext {
  const session = new Session(principal, { notify: () => undefined, end: () => undefined, close: () => undefined });
  return {
    session,
    channel: session.channel,
    rooms: {} as RoomRegistry,
    services: {} as HandlerContext['services'],
    log: log.child({ room: principal.room }),
    outcomes: { requestAnswered: (o) => outcomes.push(o) },
  };
}

describe('request ids in signaling logs', () => {
  it('every line of a request carries its id, each request its own; later work carries none', async () => {
    const { log, lines } = capturedLogger();
    const roomCore = log.child({ room: principal.room, component: 'room-core' }); // a logger the handler does not own
    let later: Promise<void> | undefined;
    const table = {
      ...HANDLERS,
      getRouterRtpCapabilities: inStates<'getRouterRtpCapabilities'>(['none'], async (ctx) => {
        ctx.log.info('handler line');
        await new Promise((r) => setTimeout(r, 5));
        roomCore.info('room core line');
        later = new Promise((resolve) =>
          setTimeout(() => {
            roomCore.info('after the answer');
            resolve();
          }, 30),
        );
        return { rtpCapabilities: { codecs: [], headerExtensions: [] } };
      }),
    } satisfies HandlerTable;
    const outcomes: RequestOutcome[] = [];
    const ctx = context(log, outcomes);
    expect((await dispatch(table, ctx, 'getRouterRtpCapabilities', {})).ok).toBe(true);
    expect((await dispatch(table, ctx, 'getRouterRtpCapabilities', {})).ok).toBe(true);
    await later;

    const handler = lines().filter((l) => l['msg'] === 'handler line');
    const core = lines().filter((l) => l['msg'] === 'room core line');
    expect(handler).toHaveLength(2);
    expect(core).toHaveLength(2);
    for (const l of [...handler, ...core]) {
      expect(l['reqId']).toMatch(/^[0-9a-f]{16}$/);
      expect(l['room']).toBe(principal.room);
    }
    expect(handler[0]!['reqId']).toBe(core[0]!['reqId']);
    expect(handler[1]!['reqId']).toBe(core[1]!['reqId']);
    expect(handler[0]!['reqId']).not.toBe(handler[1]!['reqId']);
    const after = lines().filter((l) => l['msg'] === 'after the answer');
    expect(after).toHaveLength(2);
    for (const l of after) expect(l).not.toHaveProperty('reqId');
    // Each room key once: pino would write a second "room" if the context added one (JSON.parse keeps the last).
    expect(
      lines()
        .map((l) => JSON.stringify(l))
        .every((l) => l.split('"room"').length <= 2),
    ).toBe(true);
    expect(outcomes.map((o) => [o.name, o.error])).toEqual([
      ['getRouterRtpCapabilities', null],
      ['getRouterRtpCapabilities', null],
    ]);
    expect(outcomes.every((o) => o.seconds > 0)).toBe(true);
  });

  it('an unexpected error is logged with the request id, which the answer names for support', async () => {
    const { log, lines } = capturedLogger();
    const table = {
      ...HANDLERS,
      getRouterRtpCapabilities: inStates<'getRouterRtpCapabilities'>(['none'], () => {
        throw new TypeError('internal detail');
      }),
      leave: inStates<'leave'>(['none'], () => {
        throw new ProtocolError('FORBIDDEN', 'not you');
      }),
    } satisfies HandlerTable;
    const outcomes: RequestOutcome[] = [];
    const ctx = context(log, outcomes);
    const ack = await dispatch(table, ctx, 'getRouterRtpCapabilities', {});
    const failed = lines().find((l) => l['msg'] === 'request failed');
    expect(failed?.['reqId']).toMatch(/^[0-9a-f]{16}$/);
    expect(ack.ok ? '' : ack.error.message).toContain(`(request ${String(failed?.['reqId'])})`);
    await dispatch(table, ctx, 'leave', {});
    expect(outcomes.map((o) => [o.name, o.error])).toEqual([
      ['getRouterRtpCapabilities', 'INTERNAL'],
      ['leave', 'FORBIDDEN'],
    ]);
  });
});

describe('request ids over HTTP', () => {
  it('keeps a usable X-Request-Id, replaces an unusable one, makes one otherwise; answers and logs it', async () => {
    const { log, lines } = capturedLogger();
    const app = express();
    app.use(requestIds());
    app.get('/admin/thing', (_req, res) => {
      setTimeout(() => {
        log.info('handled');
        res.json({ ok: true });
      }, 1);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/thing`;
      const ask = async (id?: string) => (await fetch(url, { headers: id ? { 'X-Request-Id': id } : {} })).headers.get('x-request-id');

      expect(await ask('his-gw-20261130-0001')).toBe('his-gw-20261130-0001');
      const made = await ask();
      expect(made).toMatch(/^[0-9a-f]{16}$/);
      const replaced = await ask('bad id with spaces "} {"level":60');
      expect(replaced).toMatch(/^[0-9a-f]{16}$/);
      expect(await ask('x'.repeat(129))).toMatch(/^[0-9a-f]{16}$/);

      expect(lines().map((l) => l['reqId'])).toEqual(['his-gw-20261130-0001', made, replaced, expect.stringMatching(/^[0-9a-f]{16}$/)]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
