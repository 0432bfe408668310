/**
 * Cluster benchmark: a real redis-server and three node processes (the built server) on loopback.
 *  - Redirect cost: N joins of a running room (connect → join answered, through the SDK's signaling
 *    connection), half straight to the node that serves the room, half through another node, which
 *    answers MOVED once and the connection follows.
 *  - Takeover: the node serving a room is killed with SIGKILL at a random point of its heartbeat;
 *    the time until a client rejoining through a surviving entry node is joined on a survivor
 *    (lease expiry, the failed probe of the dead owner, the claim with a new epoch, the room's memory
 *    read back). Each round a fresh node replaces the killed one. The client retries every 100 ms:
 *    this measures the cluster, not the SDK's retry back-off.
 *
 *   npm run bench:cluster -- [--joins 30] [--takeovers 5]
 *
 * Everything it starts (redis-server, the nodes and their media workers) is stopped on the way out,
 * on an error, on SIGINT/SIGTERM, or when the run takes longer than its bound.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SignalingConnection } from '../client-sdk/src/SignalingConnection.js';
import { startLocalCluster, type LocalCluster, type NodeProcess } from './lib/clusterProcesses.js';
import { median, p95, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    joins: { type: 'string', default: '30' },
    takeovers: { type: 'string', default: '5' },
  },
});
const JOINS = Math.max(2, Math.min(200, Number(values.joins)));
const TAKEOVERS = Math.max(1, Math.min(20, Number(values.takeovers)));
/** No takeover may take longer than this (the lease TTL is 6 s): a round that does is a failure. */
const TAKEOVER_BOUND_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A development token from a node (the nodes share their secret, so any node's token is good everywhere). */
async function devToken(node: NodeProcess, room: string, identity: string, name: string): Promise<string> {
  const response = await fetch(`${node.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      identity,
      name,
      role: 'specialist',
      site: { id: 'bench', name: '省人民医院', level: 'tertiary_hospital' },
      room,
      kind: 'consultation',
      caseId: 'BENCH-CLUSTER',
    }),
  });
  if (!response.ok) throw new Error(`/dev/token answered ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/** Connects through `entry` (following MOVED as the SDK does) and joins; the open connection. */
async function join(entry: string, token: string): Promise<SignalingConnection> {
  const connection = await SignalingConnection.connect({ url: entry, token, connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
  try {
    const { rtpCapabilities } = await connection.request('getRouterRtpCapabilities', {});
    const answer = await connection.request('join', { rtpCapabilities });
    if (answer.status !== 'joined') throw new Error(`join answered ${answer.status}`);
    return connection;
  } catch (error) {
    connection.close();
    throw error;
  }
}

const live = (cluster: LocalCluster) => cluster.nodes.filter((n) => n.alive);
const nodeAt = (cluster: LocalCluster, url: string) => cluster.nodes.find((n) => n.url === url)!;

/** Join latency straight to the room's node and through another node (one MOVED). */
async function measureJoins(cluster: LocalCluster): Promise<{ direct: number[]; redirected: number[] }> {
  const room = 'bench-cluster-joins';
  const [first] = live(cluster);
  // The room stays open throughout (the host stays), so every join measures joining, not opening.
  const host = await join(first!.url, await devToken(first!, room, 'host', '王芳'));
  const owner = nodeAt(cluster, host.url);
  const others = live(cluster).filter((n) => n !== owner);
  const direct: number[] = [];
  const redirected: number[] = [];
  try {
    for (let i = 0; i < JOINS; i++) {
      const through = i % 2 === 0 ? owner : others[i % others.length]!;
      const token = await devToken(owner, room, `joiner-${i}`, `赵磊${i}`);
      const started = performance.now();
      const connection = await join(through.url, token);
      const ms = performance.now() - started;
      if (connection.url !== owner.url) throw new Error(`join ${i} ended on ${connection.url}, not on the room's node ${owner.url}`);
      connection.close();
      (through === owner ? direct : redirected).push(ms);
    }
  } finally {
    host.close();
  }
  return { direct, redirected };
}

/** Kill → rejoined on a survivor, `TAKEOVERS` times; a fresh node replaces each killed one. */
async function measureTakeovers(cluster: LocalCluster): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < TAKEOVERS; round++) {
    const room = `bench-cluster-takeover-${round}`;
    const [first] = live(cluster);
    const token = await devToken(first!, room, 'lead', '陈静');
    const host = await join(first!.url, token);
    const owner = nodeAt(cluster, host.url);
    const entry = live(cluster).find((n) => n !== owner)!;
    // Anywhere in the owner's heartbeat cycle (2 s): the lease has 4–6 s left when the node dies.
    await sleep(500 + Math.random() * 2000);
    const killedAt = performance.now();
    await owner.kill();
    host.close();
    let rejoined: SignalingConnection | undefined;
    while (!rejoined) {
      if (performance.now() - killedAt > TAKEOVER_BOUND_MS) throw new Error(`round ${round}: no survivor took the room within 30 s`);
      rejoined = await join(entry.url, token).catch(() => undefined);
      if (!rejoined) await sleep(100);
    }
    times.push(performance.now() - killedAt);
    if (rejoined.url === owner.url) throw new Error(`round ${round}: rejoined on the killed node`);
    rejoined.close();
    process.stderr.write(`takeover ${round + 1}/${TAKEOVERS}: ${Math.round(times.at(-1)!)} ms\n`);
    await cluster.add(`bench-node-r${round}`);
  }
  return times;
}

function report(joins: { direct: number[]; redirected: number[] }, takeovers: number[]): void {
  const row = (what: string, v: number[]) => [what, v.length, median(v), p95(v), Math.min(...v), Math.max(...v)];
  const mem = Math.round(os.totalmem() / 2 ** 30);
  console.log(
    `\nCluster — 3 node processes + redis-server on loopback (${os.cpus().length} cores, ${mem} GiB, ` +
      `${new Date().toISOString().slice(0, 10)})\n`,
  );
  console.log(
    table(
      ['measure', 'n', 'median ms', 'p95 ms', 'min ms', 'max ms'],
      [
        row("join through the room's node (connect → joined)", joins.direct),
        row('join through another node (1 MOVED followed)', joins.redirected),
        row('takeover after kill -9 (kill → rejoined on a survivor)', takeovers),
      ],
    ),
  );
  const ratio = (f: (v: number[]) => number) => (f(joins.redirected) / f(joins.direct)).toFixed(2);
  console.log(`\nRedirect cost: ${ratio(median)}× the direct join at the median, ${ratio(p95)}× at p95.`);
}

async function main(): Promise<void> {
  // Until the cluster is up, exiting is enough: the helpers kill what they started when this process exits.
  let abort = (why: string, code: number): void => {
    console.error(`bench:cluster: ${why}`);
    process.exit(code);
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  const cluster = await startLocalCluster(
    ['bench-node-a', 'bench-node-b', 'bench-node-c'],
    // A clean stop must not wait for a drain; nothing is recorded.
    { DRAIN_DEADLINE_SECONDS: '0', ROOM_EMPTY_LINGER_SECONDS: '0', DATA_MIN_FREE_MB: '0' },
    { built: true },
  );
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cluster.stop());
  abort = (why, code) => {
    console.error(`bench:cluster: ${why}; stopping everything it started`);
    void stop().finally(() => process.exit(code));
  };
  const bound = 120_000 + JOINS * 2000 + TAKEOVERS * 45_000;
  setTimeout(() => abort(`still running after ${bound / 1000} s`, 2), bound).unref();
  try {
    const joins = await measureJoins(cluster);
    const takeovers = await measureTakeovers(cluster);
    report(joins, takeovers);
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
