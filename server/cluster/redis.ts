/**
 * The Redis connection of a node, set up for outages: commands fail fast instead of queueing (a
 * join must be refused within seconds, not hang), an `error` event never crashes the process, and
 * the client keeps reconnecting in the background. Redis is reached either at one URL or through
 * Sentinel, which names the current master and promotes a replica when the master dies.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface SentinelAddress {
  host: string;
  port: number;
}

/** Where a node's Redis is: one URL, or a master found through Sentinel by its name. */
export type RedisTarget =
  | { url: string; password?: string | undefined }
  | {
      sentinels: SentinelAddress[];
      /** The master group name Sentinel monitors (`sentinel monitor <name> …`). */
      name: string;
      /** Of the master and its replicas. */
      password?: string | undefined;
      /** Of the sentinels themselves (`requirepass` in sentinel.conf), if they have one. */
      sentinelPassword?: string | undefined;
    };

const backoff = (times: number) => Math.min(times * 200, 2000);

function options(target: RedisTarget, commandTimeoutMs: number): RedisOptions {
  const outage: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    retryStrategy: backoff,
    // A server that answers READONLY was demoted to a replica (a failover): reconnect, which asks
    // Sentinel for the master again. The failed command is not resent: its caller decides (fail fast).
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if ('url' in target) return { ...outage, password: target.password };
  return {
    ...outage,
    sentinels: target.sentinels,
    name: target.name,
    password: target.password,
    sentinelPassword: target.sentinelPassword,
    sentinelCommandTimeout: commandTimeoutMs,
    // No sentinel answering is an outage like any other: keep asking in the background.
    sentinelRetryStrategy: backoff,
    // Told of a promotion by the sentinels (+switch-master), the client leaves the old master at once,
    // even one still running and accepting writes behind a partition: two masters would mean two
    // owners of a room.
    failoverDetector: true,
  };
}

export function connectRedis(target: RedisTarget, log: RedisLogger, commandTimeoutMs = 1500): Redis {
  // A password inside the URL wins over `password` (ioredis fills only what the URL leaves unset).
  const redis = 'url' in target ? new Redis(target.url, options(target, commandTimeoutMs)) : new Redis(options(target, commandTimeoutMs));
  let warned = false;
  redis.on('error', (err: Error) => {
    // Once per outage: a retry loop must not flood the log.
    if (!warned) log.warn({ err: err.message }, 'redis unavailable; retrying in the background');
    warned = true;
  });
  redis.on('ready', () => (warned = false));
  // Only through Sentinel: its failover detector is what abandons a reconnection (below). A client of
  // one URL is left to ioredis's own retries (a cluster test that kills Redis showed the
  // revival changing its routing under load; nothing there needs it).
  if (!('url' in target)) keepConnecting(redis, log);
  return redis;
}

/**
 * ioredis gives a client up for good ("end") when a connection attempt is abandoned rather than
 * failed: with Sentinel, the failover detector (told of the promotion) closes the connector while a
 * reconnection is still asking the sentinels where the master is — exactly what happens when the
 * master dies. Every client of the node then stayed without Redis until a restart (found by the
 * Sentinel failover test, 1 run in 2 to 6). A client that ended without being closed here is
 * connected again, with the usual backoff; its subscriptions are restored by ioredis on the way.
 */
function keepConnecting(redis: Redis, log: RedisLogger): void {
  let closing = false;
  const { quit, disconnect } = redis;
  redis.quit = ((...args: Parameters<Redis['quit']>) => {
    closing = true;
    return quit.apply(redis, args);
  }) as Redis['quit'];
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect.call(redis, reconnect);
  };
  let attempts = 0;
  redis.on('ready', () => (attempts = 0));
  redis.on('end', () => {
    if (closing) return;
    log.warn({}, 'redis client given up by the driver; connecting again');
    const timer = setTimeout(() => {
      if (!closing && redis.status === 'end') redis.connect().catch(() => undefined); // failures come as 'error' and 'end' again
    }, backoff(++attempts));
    timer.unref();
  });
}

/** Resolves once `redis` is connected; rejects after `timeoutMs` (commands are not queued before). */
export function whenReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
