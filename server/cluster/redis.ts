/**
 * The Redis connection of a node, set up for outages: commands fail fast instead of queueing (a
 * join must be refused within seconds, not hang), an `error` event never crashes the process, and
 * the client keeps reconnecting in the background.
 */
import { Redis } from 'ioredis';

export interface RedisLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export function connectRedis(url: string, log: RedisLogger, commandTimeoutMs = 1500): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let warned = false;
  redis.on('error', (err: Error) => {
    // Once per outage: a retry loop must not flood the log.
    if (!warned) log.warn({ err: err.message }, 'redis unavailable; retrying in the background');
    warned = true;
  });
  redis.on('ready', () => (warned = false));
  return redis;
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
