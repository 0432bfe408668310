/**
 * Closed hospital networks: media must pass with UDP unusable (ICE over TCP on the worker's single
 * port) and through a TURN relay only (a real coturn with time-limited REST-API credentials).
 */
import { describe, expect, it } from 'vitest';
import { useTurnEnvironment } from '../helpers/coturn.js';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { connectAndJoin, ok } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';

const { env, turn } = useTurnEnvironment({ browser: true });

async function pair(room: string, options: { forceTcp?: boolean; iceTransportPolicy?: 'relay' }) {
  const sender = await openSdkPage(env.browser, env.server.url);
  expect(await sdkJoin(sender, { identity: `${room}-s`, name: 'Sender', role: 'specialist', room, ...options })).toBe('joined');
  const receiver = await openSdkPage(env.browser, env.server.url);
  expect(await sdkJoin(receiver, { identity: `${room}-r`, name: 'Receiver', role: 'observer', room, ...options })).toBe('joined');
  const stats = await waitForStats(receiver, (s) =>
    s.inbound.some((i) => i.name === 'Sender' && i.kind === 'video' && i.framesDecoded > 10),
  );
  await sender.context().close();
  await receiver.context().close();
  return stats;
}

describe('media through closed networks', () => {
  it('flows over ICE-TCP when UDP is not offered', async () => {
    const stats = await pair('net-tcp', { forceTcp: true });
    expect(stats.pairs.length).toBeGreaterThan(0);
    for (const p of stats.pairs) {
      expect(p.protocol).toBe('tcp');
      expect(p.remoteAddress).toBe('127.0.0.1');
    }
  });

  it('flows through a TURN relay only (iceTransportPolicy relay, coturn)', async () => {
    const stats = await pair('net-turn', { iceTransportPolicy: 'relay' });
    expect(stats.pairs.length).toBeGreaterThan(0);
    for (const p of stats.pairs) expect(p.localType).toBe('relay');
  });

  it('hands out TURN credentials that expire', async () => {
    const { client } = await connectAndJoin(env.server.url, token({ room: 'net-creds', sub: 'creds' }));
    const t = ok(await client.request('createTransport', { direction: 'recv' }));
    client.close();
    const [ice] = t.iceServers;
    expect(ice?.urls).toEqual([`${turn().url}?transport=udp`, `${turn().url}?transport=tcp`]);
    const expiry = Number(ice?.username.split(':')[0]);
    expect(expiry).toBeGreaterThan(Date.now() / 1000);
    expect(expiry).toBeLessThanOrEqual(Date.now() / 1000 + 3600 + 5);
    expect(ice?.credential).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});
