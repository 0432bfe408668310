/**
 * Sockets are a shared resource: one person may hold a few, one network address a bounded number,
 * and a transport that never authenticates (or is refused) does not stay open. Real Socket.IO
 * connections to a real server.
 */
import { Manager } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { WireError } from '../../signaling/protocol/index.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { connect, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';

const env = useTestEnvironment({ env: { SIGNALING_MAX_SOCKETS_PER_IDENTITY: '3', SIGNALING_MAX_SOCKETS_PER_ADDRESS: '8' } });

/** The refusal, or undefined when the connection was accepted (it is closed again at once). */
const refusalOf = (promise: Promise<TestClient>): Promise<WireError | undefined> =>
  promise.then(
    (client) => (client.close(), undefined),
    (error: { wire?: WireError }) => error.wire,
  );

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return check();
}

describe('connection limits', () => {
  it('one person: at most 3 sockets; closing one makes room for another', async () => {
    const jwt = () => token({ room: 'limits-identity', sub: 'wang-fang', name: '王芳' });
    const open = [await connect(env.server.url, jwt()), await connect(env.server.url, jwt()), await connect(env.server.url, jwt())];
    const fourth = await refusalOf(connect(env.server.url, jwt()));
    expect(fourth?.code).toBe('TOO_MANY_REQUESTS');
    expect(fourth?.message).toMatch(/connections open/);
    open[0]!.close();
    await new Promise((r) => setTimeout(r, 200)); // the server sees the disconnect
    expect(await refusalOf(connect(env.server.url, jwt()))).toBeUndefined();
    for (const c of open.slice(1)) c.close();
  });

  it('one address: at most 8 sockets whoever they are', async () => {
    await until(() => env.server.transportCount === 0, 3000);
    const clients: TestClient[] = [];
    for (let i = 0; i < 8; i++)
      clients.push(await connect(env.server.url, token({ room: 'limits-address', sub: `doc-${i}`, name: `医生${i}` })));
    const ninth = await refusalOf(connect(env.server.url, token({ room: 'limits-address', sub: 'doc-9', name: '马丽' })));
    expect(ninth?.code).toBe('TOO_MANY_REQUESTS');
    expect(ninth?.message).toMatch(/network address/);
    for (const c of clients) c.close();
  });

  it('refused and never-authenticating transports are closed by the server', async () => {
    await until(() => env.server.transportCount === 0, 3000);
    // 20 sockets with no token: refused, and their transports dropped even though they stay open.
    const refused = await Promise.all(
      Array.from({ length: 20 }, () => {
        const manager = new Manager(env.server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
        const socket = manager.socket('/', { auth: {} });
        return new Promise<{ code: string | undefined; manager: Manager }>((resolve) =>
          socket.once('connect_error', (e: Error & { data?: WireError }) => resolve({ code: e.data?.code, manager })),
        );
      }),
    );
    expect(new Set(refused.map((r) => r.code))).toEqual(new Set(['UNAUTHENTICATED']));
    // 10 transports that never ask for a namespace at all.
    const silent = Array.from({ length: 10 }, () => new Manager(env.server.url, { transports: ['websocket'], reconnection: false }));
    for (const m of silent) m.open();
    expect(await until(() => env.server.transportCount >= 10, 3000)).toBe(true);
    // connectTimeout (5 s) for the silent ones, 1 s for the refused ones.
    expect(await until(() => env.server.transportCount === 0, 9000)).toBe(true);
    for (const m of [...silent, ...refused.map((r) => r.manager)]) m.engine?.close();
  });
});
