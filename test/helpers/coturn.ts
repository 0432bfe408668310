/** A real coturn (Debian `turnserver`) on loopback with the TURN REST API shared secret. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { freeMediaPorts, untilListening } from '../../bench/lib/ports.js';
import { useTestEnvironment, type TestEnvironment } from './fixture.js';

export interface Coturn {
  url: string;
  secret: string;
  stop(): Promise<void>;
}

export async function startCoturn(): Promise<Coturn> {
  const port = await freeMediaPorts(1);
  const relayBase = await freeMediaPorts(50);
  const secret = randomBytes(24).toString('hex');
  const child: ChildProcess = spawn(
    '/usr/bin/turnserver',
    [
      '-n', // no configuration file: everything is on this command line
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${relayBase}`,
      `--max-port=${relayBase + 49}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=telemed.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers', // the media server is on loopback too
      '--fingerprint',
      '--no-software-attribute',
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await untilListening(child, port, 'coturn', 100);
  return {
    url: `turn:127.0.0.1:${port}`,
    secret,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/**
 * A file's test server that hands out TURN credentials for a real coturn: coturn is registered first,
 * so it is up before the server starts and stops after it. `turn()` is the running coturn.
 */
export function useTurnEnvironment(options: { browser?: boolean } = {}): { env: TestEnvironment; turn: () => Coturn } {
  let coturn: Coturn | undefined;
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterAll(async () => {
    await coturn?.stop();
  });
  const turn = () => {
    if (!coturn) throw new Error('coturn is not running (used outside a test?)');
    return coturn;
  };
  const env = useTestEnvironment({
    ...options,
    env: () => ({ TURN_URLS: `${turn().url}?transport=udp,${turn().url}?transport=tcp`, TURN_SECRET: turn().secret }),
  });
  return { env, turn };
}
