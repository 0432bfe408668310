/**
 * Cluster nodes as separate server processes on one real redis-server, for tests and benchmarks that
 * kill a node the way a crash would (SIGKILL). Each node runs the real entry point (`server/main.ts`
 * from source through tsx, so a test needs no build; or the built `dist/server/main.js`, measured by
 * the benchmarks) on loopback with its own HTTP and media ports and data folder, the cluster's shared
 * JWT secret and namespace, and writes its log to a file of its own. Every process started here (and
 * anything it started: mediasoup workers, tsx's esbuild) is killed by `stop()`, and by this
 * process's exit if a test runner dies before its afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeMediaPorts } from './ports.js';
import { startRedis, type RedisServer } from './redisServer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NodeProcess {
  readonly id: string;
  /** Its data folder (recordings, trails, outbox): a node restarted on it picks up what was left. */
  readonly dataDir: string;
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** False once the node process has exited, whatever the reason. */
  readonly alive: boolean;
  /** SIGKILL of the node and of every process it started, at once: a machine lost. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), SIGKILL after 5 s; then whatever it left behind. */
  stop(): Promise<void>;
  /** The last lines of its log, for a failure message. */
  logTail(lines?: number): string;
}

export interface LocalCluster {
  readonly redis: RedisServer;
  readonly namespace: string;
  /** Signs the tokens every node accepts (the nodes of a cluster share their keys). */
  readonly secret: string;
  readonly nodes: NodeProcess[];
  /** Starts one more node (e.g. in place of a killed one); stopped with the others. */
  add(id: string): Promise<NodeProcess>;
  /**
   * Starts `node` again (after a kill) with the same id, settings and data folder, as a machine that
   * comes back would; it replaces the old one in `nodes` (new ports) and is stopped by `stop()`.
   */
  restart(node: NodeProcess): Promise<NodeProcess>;
  stop(): Promise<void>;
}

/** A process by pid and start time: a pid reused by someone else's process is never killed. */
interface Proc {
  pid: number;
  start: string;
}

/** Parent pid and start time (fields 4 and 22 of /proc/<pid>/stat; the name in field 2 may hold spaces). */
function stat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined; // exited while we looked
  }
}

/** Every living descendant of `pid`, read from /proc. */
function descendants(pid: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), { pid: Number(entry), start: s.start }]);
  }
  const out: Proc[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

function killAll(procs: Proc[]): void {
  for (const { pid, start } of procs) {
    if (stat(pid)?.start !== start) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export interface ClusterOptions {
  /** Run the built server (`npm run build` first) instead of the sources through tsx. */
  built?: boolean;
}

async function startNode(
  id: string,
  env: Record<string, string>,
  logDir: string,
  options: ClusterOptions,
  dataDir = mkdtempSync(path.join(os.tmpdir(), `telemed-${id}-`)),
): Promise<NodeProcess> {
  const [httpPort, mediaPort] = [await freeMediaPorts(1), await freeMediaPorts(1)];
  const logFile = path.join(logDir, `${id}.log`);
  const entry = options.built ? [path.join(root, 'dist', 'server', 'main.js')] : ['--import', 'tsx', path.join(root, 'server', 'main.ts')];
  const child = spawn(process.execPath, entry, {
    cwd: root,
    env: {
      ...process.env,
      APP_MODE: 'development', // pages mint their tokens at /dev/token (with the shared secret)
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      MEDIA_LISTEN_IP: '127.0.0.1',
      MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
      MEDIA_PORT: String(mediaPort),
      MEDIA_WORKERS: '1',
      CLUSTER_NODE_ID: id,
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env['CLUSTER_NODE_LOG_LEVEL'] ?? 'warn', // 'debug' to see a failing cluster test's nodes
      ...env,
    },
    // A file, not our pipes: a killed node's orphans must not hold this process's output open.
    stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
  });
  const self: Proc = { pid: child.pid!, start: stat(child.pid!)?.start ?? '' };
  let known: Proc[] = [];
  const onExit = () => killAll([self, ...known, ...descendants(child.pid!)]);
  process.once('exit', onExit);
  const logTail = (lines = 30) => readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node ${id} exited with ${child.exitCode}:\n${logTail()}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      onExit();
      throw new Error(`node ${id} was not ready within 30 s:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Its workers exist once it is ready: remembered now, as a killed parent's children get re-parented.
  known = descendants(child.pid!);
  const finish = () => {
    killAll([...known, ...descendants(child.pid!)]);
    process.off('exit', onExit);
  };
  return {
    id,
    dataDir,
    url,
    pid: child.pid!,
    logFile,
    logTail,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      known = [...known, ...descendants(child.pid!)];
      const done = exited(child);
      killAll([self, ...known]);
      await done;
      finish();
    },
    async stop() {
      const done = exited(child);
      if (child.exitCode === null && child.signalCode === null) {
        // What it started since it was ready (an RTMP listener's FFmpeg): once it is killed they are
        // re-parented and no longer found under it.
        const note = () => (known = [...known, ...descendants(child.pid!)]);
        note();
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          note();
          child.kill('SIGKILL');
        }, 5000);
        await done;
        clearTimeout(timer);
      }
      finish();
    },
  };
}

/** A redis-server and one node process per id, all sharing the namespace and the JWT secret. */
export async function startLocalCluster(
  ids: string[],
  env: Record<string, string> = {},
  options: ClusterOptions = {},
): Promise<LocalCluster> {
  const redis = await startRedis();
  const namespace = `cluster${Date.now()}`;
  const secret = randomBytes(32).toString('hex');
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'telemed-cluster-'));
  const nodes: NodeProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  };
  const nodeEnv = { REDIS_URL: redis.url, CLUSTER_NAMESPACE: namespace, JWT_SECRETS: secret, ...env };
  const add = async (id: string) => {
    const node = await startNode(id, nodeEnv, logDir, options);
    nodes.push(node);
    return node;
  };
  const restart = async (node: NodeProcess) => {
    await node.stop(); // already dead after a kill; never two processes on one data folder
    const again = await startNode(node.id, nodeEnv, logDir, options, node.dataDir);
    nodes.splice(nodes.indexOf(node), 1, again);
    return again;
  };
  try {
    for (const id of ids) await add(id);
  } catch (error) {
    await stop();
    throw error;
  }
  return { redis, namespace, secret, nodes, add, restart, stop };
}
