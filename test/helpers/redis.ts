/** A real redis-server for a test: shared with the cluster benchmark (bench/lib/redisServer.ts). */
export { startRedis, type RedisServer } from '../../bench/lib/redisServer.js';
