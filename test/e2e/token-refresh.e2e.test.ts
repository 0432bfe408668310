/**
 * A consultation longer than its access token: the SDK warns before the token expires
 * (`tokenExpiring`), the page hands it a fresh one (`updateToken`), and a signaling drop after the
 * first token expired is resumed with the fresh one — the same participant, no rejoin. A page that did
 * not refresh its token cannot resume after the same drop (its token is refused as expired).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { token } from '../helpers/tokens.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'mdt-long-0302';
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startTcpProxy(env.server.port);
});
afterAll(async () => {
  await proxy?.close();
});

type Client = {
  connectionState: string;
  self: { id: string };
  updateToken(token: string): void;
};
const state = (page: Page) => page.evaluate(() => (window as unknown as { t: { client: Client } }).t.client.connectionState);
const selfId = (page: Page) => page.evaluate(() => (window as unknown as { t: { client: Client } }).t.client.self.id);

/** Joins through the proxy with a token that expires in `seconds`. */
async function joinShortLived(identity: string, name: string, seconds: number): Promise<Page> {
  const page = await openSdkPage(env.browser, env.server.url);
  const jwt = token({ sub: identity, name, role: 'specialist', room: ROOM }, { expiresIn: seconds });
  expect(await sdkJoin(page, { identity, name, role: 'specialist', room: ROOM, url: proxy.url, publish: false, token: jwt })).toBe(
    'joined',
  );
  return page;
}

describe('token refresh', () => {
  it('warned before expiry, refreshed with updateToken, and a resume after expiry uses the fresh token', async () => {
    const refreshed = await joinShortLived('wang-fang', '王芳', 6);
    const stale = await joinShortLived('zhao-lei', '赵磊', 6);
    // Less than a minute left: both are warned at once.
    await expect.poll(() => events(refreshed, 'tokenExpiring').then((e) => e.length), { timeout: 3000 }).toBe(1);
    expect((await events(stale, 'tokenExpiring')).length).toBe(1);

    // A token for someone else is refused; the right one is taken.
    const foreign = token({ sub: 'ma-li', name: '马丽', role: 'specialist', room: ROOM });
    const refusal = await refreshed.evaluate((jwt) => {
      try {
        (window as unknown as { t: { client: Client } }).t.client.updateToken(jwt);
        return 'taken';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    }, foreign);
    expect(refusal).toBe('BAD_REQUEST');
    const fresh = token({ sub: 'wang-fang', name: '王芳', role: 'specialist', room: ROOM }, { expiresIn: 600 });
    await refreshed.evaluate((jwt) => (window as unknown as { t: { client: Client } }).t.client.updateToken(jwt), fresh);
    const before = await selfId(refreshed);

    // The first tokens expire (and the server's 5 s of clock tolerance pass); then signaling drops for both.
    await new Promise((r) => setTimeout(r, 12_500));
    proxy.cut();
    await expect.poll(() => state(refreshed), { timeout: 10_000 }).toBe('reconnecting');
    await new Promise((r) => setTimeout(r, 1000));
    proxy.restore();

    await expect.poll(() => state(refreshed), { timeout: 15_000 }).toBe('connected');
    expect(await selfId(refreshed)).toBe(before); // resumed: the same participant
    await expect.poll(() => state(stale), { timeout: 15_000 }).toBe('disconnected');
    const [ended] = (await events(stale, 'disconnected')) as [[{ reason: string; code?: string }]];
    expect(ended[0]).toMatchObject({ reason: 'connection_lost', code: 'UNAUTHENTICATED' });
    expect(
      env.server.rooms
        .get(ROOM)
        ?.participants()
        .map((p) => p.info.displayName),
    ).toContain('王芳');
  }, 60_000);
});
