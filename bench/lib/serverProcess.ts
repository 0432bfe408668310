/** Runs the built server as a child process on loopback, as `npm start` would, for measuring it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeMediaPorts } from './ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerHandle {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Kills the Node process at once (SIGKILL), as a crash would; its children are left as orphans. */
  kill(): Promise<void>;
}

/**
 * `logFile`: where the server's output goes instead of this process's own stdout/stderr. Use it when
 * the server may be killed: its orphaned children would otherwise hold this process's pipes open.
 * `checkout`: another built copy of the project to run instead of this one (a before/after comparison).
 */
export async function startServerProcess(env: Record<string, string> = {}, logFile?: string, checkout = root): Promise<ServerHandle> {
  // Checked free (HTTP here, then one media port per worker): a port merely drawn at random was
  // sometimes taken by another test's server or worker, and the server exited with EADDRINUSE.
  const port = await freeMediaPorts(1 + Math.max(1, Number(env['MEDIA_WORKERS'] ?? os.availableParallelism())));
  const child: ChildProcess = spawn(process.execPath, [path.join(checkout, 'dist', 'server', 'main.js')], {
    cwd: checkout,
    env: {
      ...process.env,
      APP_MODE: 'development', // the clients mint their tokens at /dev/token; the server's own default is production
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      MEDIA_LISTEN_IP: '127.0.0.1',
      MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
      MEDIA_PORT: String(port + 1),
      JWT_SECRETS: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      DATA_MIN_FREE_MB: '0', // recording must not depend on how full this machine's disk is
      ...env,
      // As `npm start` runs it (scripts/start.sh), plus what a benchmark adds.
      NODE_OPTIONS: ['--max-semi-space-size=2', env['NODE_OPTIONS'] ?? ''].join(' ').trim(),
    },
    stdio: logFile ? ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] : ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('server did not become ready in 20 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
