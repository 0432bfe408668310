/**
 * The nodes of a cluster: each registers itself (routes, media addresses, version, load, state) and
 * keeps its registration alive with a heartbeat; a registration not renewed within its TTL is gone.
 * A heartbeat that fails (Redis down) is retried at the next tick and never stops the loop: a Redis
 * outage must not turn into a node that silently stopped announcing itself.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

export type NodeState = 'serving' | 'draining';

export interface NodeInfo {
  id: string;
  /** Where clients reach this node's signaling: a full URL or a path prefix behind one public host. */
  route: string;
  /** Addresses this node announces for media. */
  mediaAddresses: string[];
  version: string;
  /** A load figure comparable across nodes (e.g. participants per worker). */
  load: number;
  state: NodeState;
}

export interface NodeRegistryOptions {
  /** A registration lives this long without a heartbeat. */
  ttlMs: number;
  heartbeatMs: number;
}

export class NodeRegistry {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #options: NodeRegistryOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, keys: ClusterKeys, options: NodeRegistryOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#options = options;
  }

  /** Writes (or renews) `info` with the registration TTL. */
  async announce(info: NodeInfo, now = Date.now()): Promise<void> {
    const { ttlMs } = this.#options;
    await this.#redis
      .multi()
      .hset(this.#keys.node(info.id), {
        id: info.id,
        route: info.route,
        mediaAddresses: JSON.stringify(info.mediaAddresses),
        version: info.version,
        load: String(info.load),
        state: info.state,
      })
      .pexpire(this.#keys.node(info.id), ttlMs)
      .zadd(this.#keys.nodes, now + ttlMs, info.id)
      // The index outlives any one registration, but not an abandoned cluster.
      .pexpire(this.#keys.nodes, ttlMs * 10)
      .exec();
  }

  /**
   * Announces now and then every heartbeat; `current` is read at each beat (load, state change);
   * each beat ends in `onAnnounced` or `onError` (whether Redis is reachable, for the metrics).
   */
  start(current: () => NodeInfo, onError: (error: unknown) => void, onAnnounced: () => void = () => undefined): Promise<void> {
    this.stop();
    const beat = () => this.announce(current()).then(onAnnounced);
    this.#timer = setInterval(() => void beat().catch(onError), this.#options.heartbeatMs);
    this.#timer.unref();
    return beat();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the heartbeat and removes the registration at once (a clean shutdown). */
  async withdraw(nodeId: string): Promise<void> {
    this.stop();
    await this.#redis.multi().del(this.#keys.node(nodeId)).zrem(this.#keys.nodes, nodeId).exec();
  }

  /** Every node whose registration is alive. */
  async nodes(now = Date.now()): Promise<NodeInfo[]> {
    await this.#redis.zremrangebyscore(this.#keys.nodes, '-inf', String(now));
    const ids = await this.#redis.zrange(this.#keys.nodes, '0', '-1');
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.node(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([error, fields]) => (error ? [] : parseNode(fields as Record<string, string>)));
  }

  /** Nodes that take new rooms and viewers. */
  async serving(now = Date.now()): Promise<NodeInfo[]> {
    return (await this.nodes(now)).filter((n) => n.state === 'serving');
  }
}

function parseNode(fields: Record<string, string>): NodeInfo[] {
  // An expired hash reads as empty: the node is gone even if the index still names it.
  if (!fields['id'] || !fields['route']) return [];
  return [
    {
      id: fields['id'],
      route: fields['route'],
      mediaAddresses: JSON.parse(fields['mediaAddresses'] ?? '[]') as string[],
      version: fields['version'] ?? '',
      load: Number(fields['load'] ?? 0),
      state: fields['state'] === 'draining' ? 'draining' : 'serving',
    },
  ];
}

/**
 * Where a new room goes: the less loaded of two serving nodes picked at random (power of two
 * choices): close to the least loaded node, without every node piling onto the same one at once.
 */
export function placeRoom(nodes: readonly NodeInfo[], random: () => number = Math.random): NodeInfo | undefined {
  const serving = nodes.filter((n) => n.state === 'serving');
  if (serving.length <= 1) return serving[0];
  const a = serving[Math.floor(random() * serving.length)]!;
  let b = serving[Math.floor(random() * (serving.length - 1))]!;
  if (b === a) b = serving[serving.length - 1]!;
  return b.load < a.load ? b : a;
}
