/**
 * The runtime the project installs for itself: the server runs on Node.js >= 24 (on a machine whose
 * own Node is older, the node-linux-* package from the npm registry, in node_modules/.bin) and on the
 * mediasoup that package.json pins, and says so on /healthz.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerHandle } from '../../bench/lib/serverProcess.js';

const major = (version: string): number => Number(version.split('.')[0]);
let server: ServerHandle | undefined;

beforeAll(async () => {
  server = await startServerProcess({ MEDIA_WORKERS: '1' });
});
afterAll(async () => {
  await server?.stop();
});

describe('runtime', () => {
  it('the server process reports Node.js >= 24 and the pinned mediasoup on /healthz', async () => {
    const res = await fetch(`${server!.url}/healthz`);
    expect(res.status).toBe(200);
    const health = (await res.json()) as { status: string; node: string; mediasoup: string };
    expect(health.status).toBe('ok');
    expect(major(health.node)).toBeGreaterThanOrEqual(24);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(health.mediasoup).toBe(pkg.dependencies['mediasoup']);
  });

  it('the tests themselves and the `node` that npm scripts find on PATH (what `npm start` runs) are Node.js >= 24', async () => {
    expect(major(process.versions.node)).toBeGreaterThanOrEqual(24);
    const { stdout } = await promisify(execFile)('node', ['-p', 'process.versions.node']);
    expect(major(stdout.trim())).toBeGreaterThanOrEqual(24);
  });
});
