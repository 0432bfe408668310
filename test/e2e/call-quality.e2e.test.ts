/**
 * A clinic's line gets bad and everyone sees it: 赵磊's media goes through the hospital's TURN relay
 * over TCP (iceTransportPolicy relay, a real coturn) behind a proxy that then holds every packet
 * 300 ms each way — as a congested county link would. The server's grade of his line, shown on the
 * specialist's tile for him, goes from good to poor, and back to good once the path is fast again;
 * a nurse joining while it is poor is told so at once.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

let coturn: Coturn;
let path: TcpProxy;
// Registered first, so coturn and the proxy are up before the server that hands out their address.
beforeAll(async () => {
  coturn = await startCoturn();
  path = await startTcpProxy(Number(new URL(coturn.url.replace('turn:', 'http://')).port));
});
afterAll(async () => {
  await path?.close();
  await coturn?.stop();
});
const env = useTestEnvironment({
  browser: true,
  env: () => ({ TURN_URLS: `turn:127.0.0.1:${path.port}?transport=tcp`, TURN_SECRET: coturn.secret }),
});
const ROOM = 'mdt-quality-0712';

/** What 王芳's page was last told about 赵磊's line. */
const lineOfZhao = (page: Page) =>
  page.evaluate(() => {
    const t = (window as unknown as { t: { events: unknown[][] } }).t;
    const last = t.events
      .filter((e) => e[0] === 'connectionQualityChanged' && (e[1] as { displayName: string }).displayName === '赵磊')
      .at(-1);
    return last ? (last[2] as string) : 'unknown';
  });

describe('call quality follows the line', () => {
  it('a delayed TURN path turns 赵磊 poor for the others, and good again when it recovers', async () => {
    const camera = { width: 320, height: 240, frameRate: 15 };
    const zhao = await openSdkPage(env.browser, env.server.url);
    const site = { id: 'apx', name: '安平县医院', level: 'county_hospital' as const };
    expect(
      await sdkJoin(zhao, {
        identity: 'zhao-lei',
        name: '赵磊',
        role: 'clinic_doctor',
        room: ROOM,
        caseId: 'CASE-1',
        site,
        camera,
        iceTransportPolicy: 'relay',
      }),
    ).toBe('joined');
    const wang = await openSdkPage(env.browser, env.server.url);
    expect(
      await sdkJoin(wang, { identity: 'wang-fang', name: '王芳', role: 'lead_specialist', room: ROOM, caseId: 'CASE-1', camera }),
    ).toBe('joined');
    await waitForStats(
      zhao,
      (s) => s.pairs.some((p) => p.localType === 'relay') && s.inbound.some((i) => i.name === '王芳' && i.framesDecoded > 0),
    );
    await expect.poll(() => lineOfZhao(wang), { timeout: 20_000, interval: 500 }).toBe('good');

    path.setDelay(300);
    await expect.poll(() => lineOfZhao(wang), { timeout: 30_000, interval: 500 }).toBe('poor');

    // A nurse joining now knows at once that 赵磊's line is poor: grades are pushed only when they
    // change, so the join answer carries the latest ones.
    const late = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(late, { identity: 'li-na', name: '李娜', role: 'care_team', room: ROOM, caseId: 'CASE-1', publish: false })).toBe(
      'joined',
    );
    const lateSees = await late.evaluate(() => {
      type Client = { participants: { id: string; displayName: string }[]; connectionQuality(id: string): string };
      const client = (window as unknown as { t: { client: Client } }).t.client;
      return client.connectionQuality(client.participants.find((p) => p.displayName === '赵磊')!.id);
    });
    expect(lateSees).toBe('poor');
    await late.context().close();

    path.setDelay(0);
    await expect.poll(() => lineOfZhao(wang), { timeout: 30_000, interval: 500 }).toBe('good');
    await zhao.context().close();
    await wang.context().close();
  }, 120_000);
});
