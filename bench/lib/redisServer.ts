/**
 * A real redis-server (Debian's) on a free loopback port, nothing persisted, stopped by whoever
 * started it (a test, a benchmark) — or killed when this process exits without having stopped it.
 * Also a Redis Sentinel watching one, for the failover tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeMediaPorts, untilListening } from './ports.js';

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

/** Starts redis-server with `args` and waits until it accepts connections on `port`. */
async function spawnRedis(port: number, args: string[]): Promise<RedisServer> {
  const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Not left behind if this process exits first (an error, an interrupted benchmark).
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));
  await untilListening(child, port, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, port, kill: () => exited(child, 'SIGKILL'), stop: () => exited(child, 'SIGTERM') };
}

/** Runs `start` with a temporary folder of its own, removed once the server it started is stopped. */
async function inTempDir(start: (dir: string) => Promise<RedisServer>): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telemed-redis-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const server = await start(dir).catch((error: unknown) => {
    removeDir();
    throw error;
  });
  return { ...server, kill: () => server.kill().finally(removeDir), stop: () => server.stop().finally(removeDir) };
}

/**
 * `args`: more redis-server options, e.g. `['--replicaof', '127.0.0.1', '6390']` for a replica. Its
 * working folder is a temporary one: a replica writes the snapshot it receives there, `--save ''` or not.
 */
export async function startRedis(port?: number, args: string[] = []): Promise<RedisServer> {
  const p = port ?? (await freeMediaPorts(1));
  return inTempDir((dir) =>
    spawnRedis(p, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args]),
  );
}

export interface SentinelOptions {
  /** The master group name (REDIS_SENTINEL_NAME). */
  name: string;
  masterPort: number;
  /** Without an answer for this long the master is considered down (quorum 1: this sentinel decides). */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

/**
 * A Redis Sentinel on a free loopback port watching the master at `masterPort` with quorum 1. Sentinel
 * rewrites its configuration file as it learns: it gets one of its own in a temporary folder, removed
 * when it stops.
 */
export async function startSentinel(options: SentinelOptions): Promise<RedisServer> {
  const port = await freeMediaPorts(1);
  const { name, masterPort, downAfterMs = 1000, failoverTimeoutMs = 3000 } = options;
  return inTempDir((dir) => {
    const file = path.join(dir, 'sentinel.conf');
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'sentinel announce-ip 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    return spawnRedis(port, [file, '--sentinel']);
  });
}
