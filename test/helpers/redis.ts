/** A real redis-server (or Sentinel) for a test: shared with the cluster benchmark (bench/lib/redisServer.ts). */
export { startRedis, startSentinel, type RedisServer, type SentinelOptions } from '../../bench/lib/redisServer.js';
