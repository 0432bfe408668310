/**
 * A real redis-server (Debian's) on a free loopback port, nothing persisted, stopped by whoever
 * started it (a test, a benchmark) — or killed when this process exits without having stopped it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freeMediaPorts, listening } from './ports.js';

export interface RedisServer {
  url: string;
  port: number;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await freeMediaPorts(1));
  const child = spawn('/usr/bin/redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Not left behind if this process exits first (an error, an interrupted benchmark).
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(p))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${p}`, port: p, kill: () => exited(child, 'SIGKILL'), stop: () => exited(child, 'SIGTERM') };
}
