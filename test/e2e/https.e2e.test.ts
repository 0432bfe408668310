/**
 * HTTPS on a hospital intranet without a proxy: the server serves TLS itself (TLS_CERT_FILE,
 * TLS_KEY_FILE) with a certificate from the hospital's own CA (made here with openssl, as the README
 * recipe does). Chromium reaches it by an intranet host name (mapped to loopback) and trusts that
 * certificate; there the page is a secure context, so two clinicians join, publish and decode each
 * other. The same host name over plain http:// is not a secure context: the demo page says to open it
 * over https:// and the SDK refuses to capture with that sentence instead of a TypeError.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import type { MediaServer } from '../../server/MediaServer.js';
import { startTestServer } from '../helpers/server.js';
import { token } from '../helpers/tokens.js';

const HOST = 'consult.hospital.test';
const dir = mkdtempSync(path.join(os.tmpdir(), 'telemed-tls-'));
const file = (name: string) => path.join(dir, name);
let secure: MediaServer | undefined;
let plain: MediaServer | undefined;
let browser: Browser | undefined;

/** The hospital's CA and a server certificate it signed for the intranet name (and 127.0.0.1). */
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=Test Hospital CA',
  ]);
  execFileSync('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', `/CN=${HOST}`]);
  writeFileSync(file('ext.cnf'), `subjectAltName=DNS:${HOST},IP:127.0.0.1\n`);
  execFileSync('openssl', [
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '2', '-extfile', file('ext.cnf'),
  ]); // prettier-ignore
}

/** Chromium trusts exactly this certificate (its public key), as a browser trusting the hospital CA would. */
const spkiHash = (pem: Buffer) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');

beforeAll(async () => {
  makeCertificates();
  secure = await startTestServer({ TLS_CERT_FILE: file('server.crt'), TLS_KEY_FILE: file('server.key') });
  plain = await startTestServer();
  browser = await launchChromium([
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(file('server.crt')))}`,
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await secure?.close();
  await plain?.close();
});

/** GET over TLS from Node, trusting only `ca` (or the system's roots if undefined). */
function get(url: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject);
  });
}

async function open(url: string): Promise<Page> {
  const page = await (await browser!.newContext()).newPage();
  await page.goto(url);
  return page;
}

describe('HTTPS served by the node', () => {
  it('speaks TLS with the configured certificate, verified against the hospital CA', async () => {
    expect(secure!.url).toMatch(/^https:\/\//);
    expect(await get(`${secure!.url}/healthz`, readFileSync(file('ca.crt')))).toBe(200);
    await expect(get(`${secure!.url}/healthz`)).rejects.toThrow(/certificate/i); // not a public CA's
  });

  it('by intranet host name over https: a secure page, two clinicians join and decode each other', async () => {
    const port = new URL(secure!.url).port;
    const people = [
      { identity: 'wang-fang', name: '王芳', role: 'lead_specialist' as const },
      { identity: 'zhao-lei', name: '赵磊', role: 'clinic_doctor' as const },
    ];
    const pages: Page[] = [];
    for (const p of people) {
      const page = await open(`https://${HOST}:${port}/sdk-test.html`);
      expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
      // Tokens come from the hospital system (development minting answers loopback host names only).
      const jwt = token({ sub: p.identity, name: p.name, role: p.role, room: 'mdt-https' });
      expect(await sdkJoin(page, { ...p, room: 'mdt-https', token: jwt, camera: { width: 320, height: 240, frameRate: 15 } })).toBe(
        'joined',
      );
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) {
      const other = people[1 - i]!.name;
      await waitForStats(
        page,
        (s) =>
          s.inbound.some((x) => x.name === other && x.kind === 'video' && x.framesDecoded > 0) &&
          s.inbound.some((x) => x.name === other && x.kind === 'audio' && x.totalAudioEnergy > 0),
      );
    }
  });

  it('the same host name over plain http: the page says to open it over https://, the SDK says why it cannot capture', async () => {
    const page = await open(`http://${HOST}:${new URL(plain!.url).port}/`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.locator('#error').innerText()).toMatch(/https:\/\//);
    // A viewer-like join still works (receiving needs no capture); publishing says what to do.
    const sdkPage = await open(`http://${HOST}:${new URL(plain!.url).port}/sdk-test.html`);
    const jwt = token({ sub: 'ma-li', name: '马丽', role: 'specialist', room: 'mdt-http' });
    const joined = await sdkJoin(sdkPage, {
      identity: 'ma-li',
      name: '马丽',
      role: 'specialist',
      room: 'mdt-http',
      publish: false,
      token: jwt,
    });
    expect(joined).toBe('joined');
    const refusal = await sdkPage.evaluate(() =>
      (window as unknown as { t: { client: { publishCamera(): Promise<unknown> } } }).t.client.publishCamera().then(
        () => 'published',
        (e: Error) => e.message,
      ),
    );
    expect(refusal).toMatch(/open this page over https:\/\//);
  });
});
