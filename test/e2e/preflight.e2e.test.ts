/**
 * The pre-call check in headless Chromium (fake camera and microphone) against the real server and a
 * real coturn: devices with a signal, signaling reachable, media over UDP, TCP and the TURN relay
 * with a measured round trip and bitrate; a refused token; TURN skipped where the server offers
 * none and reported blocked where the relay cannot be reached.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { contextWithSourceSdk } from '../../bench/lib/sdkPage.js';
import type { PreflightResult } from '../../client-sdk/src/preflightTypes.js';
import { useTurnEnvironment } from '../helpers/coturn.js';
import { freeMediaPorts } from '../helpers/ports.js';
import { startTestServer } from '../helpers/server.js';
import { token } from '../helpers/tokens.js';

const { env } = useTurnEnvironment({ browser: true });

const doctor = (room: string) =>
  token({
    sub: `liu-yang-${room}`,
    name: '刘洋',
    role: 'clinic_doctor',
    room,
    site: { id: 'dongping-xc', name: '东平县新城卫生院', level: 'township_health_centre' },
  });

async function sdkPage(serverUrl: string): Promise<Page> {
  const page = await (await contextWithSourceSdk(env.browser)).newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${serverUrl}/sdk-test.html`);
  return page;
}

function runPreflight(page: Page, url: string, accessToken: string): Promise<PreflightResult> {
  return page.evaluate(
    ({ url, accessToken }) =>
      (
        window as unknown as { TelemedSDK: { ConsultationClient: { preflight(o: object): Promise<PreflightResult> } } }
      ).TelemedSDK.ConsultationClient.preflight({ url, token: accessToken, mediaSeconds: 3 }),
    { url, accessToken },
  );
}

describe('ConsultationClient.preflight', () => {
  it('reports camera and microphone with a signal, signaling, and media over UDP, TCP and TURN with RTT and bitrate', async () => {
    const page = await sdkPage(env.server.url);
    const result = await runPreflight(page, env.server.url, doctor('pf-e2e-all'));
    expect(result.camera, JSON.stringify(result.camera)).toMatchObject({ status: 'ok' });
    expect(result.camera.level).toBeGreaterThan(16);
    expect(result.microphone, JSON.stringify(result.microphone)).toMatchObject({ status: 'ok' });
    expect(result.microphone.level).toBeGreaterThan(-60);
    expect(result.signaling.status).toBe('ok');
    expect(result.signaling.rttMs).toBeGreaterThan(0);
    for (const path of ['udp', 'tcp', 'turn'] as const) {
      const check = result[path];
      expect(check.status, `${path}: ${JSON.stringify(check)}`).toBe('ok');
      // Measured (a number), not guessed: on loopback the round trip may round to 0 ms.
      expect(typeof check.rttMs, path).toBe('number');
      expect(check.rttMs, path).toBeGreaterThanOrEqual(0);
      expect(check.bitrate, path).toBeGreaterThan(0);
      expect(check.packets, path).toBeGreaterThan(0);
    }
    expect(result.udp).toMatchObject({ protocol: 'udp', candidateType: 'host' });
    expect(result.tcp.protocol).toBe('tcp');
    expect(result.turn.candidateType).toBe('relay');
    expect(['ok', 'skipped']).toContain(result.speaker.status);
    expect(result.ok).toBe(true);
    // Nobody entered the room, and every test transport is gone.
    expect(env.server.rooms.get('pf-e2e-all')).toBeUndefined();
    await expect.poll(() => env.server.preflightTests, { timeout: 10_000 }).toBe(0);
    await page.context().close();
  }, 90_000);

  it('says plainly when the token is refused, and runs no media check', async () => {
    const page = await sdkPage(env.server.url);
    const result = await runPreflight(page, env.server.url, `${doctor('pf-e2e-bad')}x`);
    expect(result.signaling).toMatchObject({ status: 'failed', reason: 'token_rejected', code: 'UNAUTHENTICATED' });
    expect(result.signaling.message).toBeTruthy();
    for (const path of ['udp', 'tcp', 'turn'] as const) expect(result[path]).toMatchObject({ status: 'skipped', reason: 'no_signaling' });
    expect(result.ok).toBe(false);
    await page.context().close();
  }, 60_000);

  it('skips TURN where the server offers none, and reports it blocked where the relay cannot be reached', async () => {
    const plain = await startTestServer();
    const deadPort = await freeMediaPorts(1); // nothing listens there
    const unreachable = await startTestServer({ TURN_URLS: `turn:127.0.0.1:${deadPort}?transport=tcp`, TURN_SECRET: 'x'.repeat(32) });
    try {
      const page = await sdkPage(plain.url);
      const skipped = await runPreflight(page, plain.url, doctor('pf-e2e-noturn'));
      expect(skipped.turn).toMatchObject({ status: 'skipped', reason: 'turn_not_configured' });
      expect(skipped.udp.status).toBe('ok');
      const blocked = await runPreflight(page, unreachable.url, doctor('pf-e2e-deadturn'));
      expect(blocked.turn).toMatchObject({ status: 'failed', reason: 'blocked' });
      expect(blocked.udp.status).toBe('ok');
      expect(blocked.ok).toBe(false);
      await page.context().close();
    } finally {
      await plain.close();
      await unreachable.close();
    }
  }, 120_000);
});
