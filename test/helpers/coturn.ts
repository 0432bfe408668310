/** A real coturn (Debian `turnserver`) on loopback with the TURN REST API shared secret. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freeMediaPorts, untilListening } from '../../bench/lib/ports.js';

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
