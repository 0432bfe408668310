/**
 * Configuration from environment variables, validated once at start. Defaults are safe for a single
 * machine: loopback only, development mode (dev tokens) only on loopback, no external services.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { issuesToDetails } from '../signaling/protocol/index.js';

const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256'] as const;
export type JwtAlgorithm = (typeof ALGORITHMS)[number];

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

const EnvSchema = z.object({
  APP_MODE: z.enum(['development', 'production']).default('development'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  CORS_ORIGINS: z.string().default('*'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MEDIA_WORKERS: z.coerce.number().int().min(1).max(64).default(os.availableParallelism()),
  MEDIA_LISTEN_IP: z.string().default('127.0.0.1'),
  MEDIA_ANNOUNCED_ADDRESS: z.string().optional(),
  MEDIA_PORT: z.coerce.number().int().min(1024).max(65000).default(40000),
  MEDIA_INITIAL_OUTGOING_BITRATE: z.coerce.number().int().min(100_000).default(1_000_000),
  MEDIA_MAX_INCOMING_BITRATE: z.coerce.number().int().min(100_000).default(2_500_000),
  MEDIA_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
  JWT_ALGORITHMS: z.string().default('HS256'),
  JWT_SECRETS: z.string().optional(),
  JWT_PUBLIC_KEY_FILES: z.string().optional(),
  JWT_AUDIENCE: z.string().min(1).default('telemed-sfu'),
  JWT_ISSUER: z.string().optional(),
  JWT_MAX_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  TURN_URLS: z.string().optional(),
  TURN_SECRET: z.string().optional(),
  TURN_CREDENTIAL_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 86400).default(3600),
  RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(20),
  BROADCAST_CONSUMERS_PER_ROUTER: z.coerce.number().int().min(1).max(100_000).default(400),
  BROADCAST_KEYFRAME_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
  DATA_DIR: z.string().default('data'),
  REDIS_URL: z.string().optional(),
});

export interface Config {
  mode: 'development' | 'production';
  http: { host: string; port: number; corsOrigins: string[] | '*' };
  media: {
    workers: number;
    listenIp: string;
    announcedAddress: string | undefined;
    port: number;
    initialOutgoingBitrate: number;
    maxIncomingBitrate: number;
    logLevel: 'debug' | 'warn' | 'error' | 'none';
  };
  jwt: {
    algorithms: JwtAlgorithm[];
    secrets: string[];
    publicKeyFiles: string[];
    audience: string;
    issuer: string | undefined;
    maxTtlSeconds: number;
  };
  /** TURN relays handed to clients with time-limited credentials (TURN REST API scheme). */
  turn: { urls: string[]; secret: string; ttlSeconds: number } | undefined;
  reconnectGraceSeconds: number;
  broadcast: { consumersPerRouter: number; keyFrameRequestDelayMs: number };
  logLevel: string;
  dataDir: string;
  redisUrl: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = Object.entries(issuesToDetails(parsed.error.issues)).map(([k, v]) => `  ${k}: ${v}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const algorithms = list(e.JWT_ALGORITHMS);
  for (const alg of algorithms) {
    // `none` (and anything unknown) is refused here so a typo can never disable verification.
    if (!(ALGORITHMS as readonly string[]).includes(alg)) throw new ConfigError(`JWT_ALGORITHMS: unsupported algorithm "${alg}"`);
  }
  const secrets = list(e.JWT_SECRETS);
  for (const s of secrets) if (s.length < 32) throw new ConfigError('JWT_SECRETS: each secret must be at least 32 characters');
  const publicKeyFiles = list(e.JWT_PUBLIC_KEY_FILES);
  if (e.APP_MODE === 'production' && secrets.length === 0 && publicKeyFiles.length === 0) {
    throw new ConfigError('production mode needs JWT_SECRETS or JWT_PUBLIC_KEY_FILES to verify access tokens');
  }
  if (['0.0.0.0', '::'].includes(e.MEDIA_LISTEN_IP) && !e.MEDIA_ANNOUNCED_ADDRESS) {
    // Browsers cannot send media to 0.0.0.0: they need the address they can actually reach.
    throw new ConfigError('MEDIA_LISTEN_IP is a wildcard: set MEDIA_ANNOUNCED_ADDRESS to the IP or host name clients reach');
  }
  const turnUrls = list(e.TURN_URLS);
  if (turnUrls.length > 0 && !e.TURN_SECRET) throw new ConfigError('TURN_URLS is set: TURN_SECRET (coturn static-auth-secret) is required too');
  for (const url of turnUrls) if (!/^turns?:/.test(url)) throw new ConfigError(`TURN_URLS: "${url}" is not a turn: or turns: URL`);
  const cors = list(e.CORS_ORIGINS);
  return {
    mode: e.APP_MODE,
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      corsOrigins: cors.includes('*') ? '*' : cors,
    },
    media: {
      workers: e.MEDIA_WORKERS,
      listenIp: e.MEDIA_LISTEN_IP,
      announcedAddress: e.MEDIA_ANNOUNCED_ADDRESS,
      port: e.MEDIA_PORT,
      initialOutgoingBitrate: e.MEDIA_INITIAL_OUTGOING_BITRATE,
      maxIncomingBitrate: e.MEDIA_MAX_INCOMING_BITRATE,
      logLevel: e.MEDIA_LOG_LEVEL,
    },
    jwt: {
      algorithms: algorithms as JwtAlgorithm[],
      secrets,
      publicKeyFiles,
      audience: e.JWT_AUDIENCE,
      issuer: e.JWT_ISSUER,
      maxTtlSeconds: e.JWT_MAX_TTL_SECONDS,
    },
    turn: turnUrls.length > 0 && e.TURN_SECRET ? { urls: turnUrls, secret: e.TURN_SECRET, ttlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS } : undefined,
    reconnectGraceSeconds: e.RECONNECT_GRACE_SECONDS,
    broadcast: { consumersPerRouter: e.BROADCAST_CONSUMERS_PER_ROUTER, keyFrameRequestDelayMs: e.BROADCAST_KEYFRAME_DELAY_MS },
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    redisUrl: e.REDIS_URL,
  };
}
