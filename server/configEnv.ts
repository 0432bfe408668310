/**
 * The environment variables the server reads: names, types, bounds and defaults, validated once at
 * start by `loadConfig()` (config.ts), which assembles them into the typed Config. The README's
 * configuration table documents the same variables.
 */
import os from 'node:os';
import { z } from 'zod';

export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256'] as const;
export type JwtAlgorithm = (typeof ALGORITHMS)[number];

/** A comma-separated variable as its non-empty, trimmed items. */
export const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export const EnvSchema = z.object({
  // Production unless told otherwise: development mode mints tokens for anyone on this machine.
  APP_MODE: z.enum(['development', 'production']).default('production'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** HTTPS served by the node itself: a PEM certificate (chain) and its private key. */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  CORS_ORIGINS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MEDIA_WORKERS: z.coerce.number().int().min(1).max(64).default(os.availableParallelism()),
  MEDIA_LISTEN_IP: z.string().default('127.0.0.1'),
  MEDIA_ANNOUNCED_ADDRESS: z.string().optional(),
  MEDIA_PORT: z.coerce.number().int().min(1024).max(65000).default(40000),
  MEDIA_INITIAL_OUTGOING_BITRATE: z.coerce.number().int().min(100_000).default(1_000_000),
  MEDIA_MAX_INCOMING_BITRATE: z.coerce.number().int().min(100_000).default(2_500_000),
  MEDIA_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
  MEDIA_WORKER_PING_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  MEDIA_WORKER_PING_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(6000),
  MEDIA_WORKER_RESTART_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  SIGNALING_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SIGNALING_MAX_SOCKETS_PER_IDENTITY: z.coerce.number().int().min(1).max(100).default(4),
  SIGNALING_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Pre-call check: test transports open at once on this node, tests per person per minute, a test's lifetime. */
  PREFLIGHT_MAX_TESTS: z.coerce.number().int().min(0).max(10_000).default(30),
  PREFLIGHT_TESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1000).default(12),
  PREFLIGHT_TEST_SECONDS: z.coerce.number().int().min(1).max(120).default(20),
  JWT_ALGORITHMS: z.string().default('HS256'),
  JWT_SECRETS: z.string().optional(),
  JWT_PUBLIC_KEY_FILES: z.string().optional(),
  JWT_AUDIENCE: z.string().min(1).default('telemed-sfu'),
  JWT_ISSUER: z.string().optional(),
  JWT_MAX_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  TURN_URLS: z.string().optional(),
  TURN_SECRET: z.string().optional(),
  TURN_CREDENTIAL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(3600),
  RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(20),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  ROOM_EMPTY_LINGER_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  ROOM_JOIN_BURST: z.coerce.number().int().min(1).max(1000).default(5),
  ROOM_JOIN_INTERVAL_SECONDS: z.coerce.number().min(0).max(3600).default(3),
  CHAT_MESSAGES_ON_JOIN: z.coerce.number().int().min(0).max(500).default(50),
  BROADCAST_CONSUMERS_PER_ROUTER: z.coerce.number().int().min(1).max(100_000).default(400),
  BROADCAST_KEYFRAME_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
  /** Clustered: viewers one node hosts before new ones go to edge nodes; 0 = MEDIA_WORKERS × BROADCAST_CONSUMERS_PER_ROUTER ÷ 2. */
  BROADCAST_VIEWERS_PER_NODE: z.coerce.number().int().min(0).max(1_000_000).default(0),
  // Encoders publishing into broadcast/training rooms (WHIP, RTMP): see README "Broadcast studio".
  INGEST_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(15),
  INGEST_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(43_200),
  INGEST_MAX_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(172_800),
  INGEST_PER_ROOM: z.coerce.number().int().min(1).max(20).default(4),
  INGEST_HEALTH_INTERVAL_MS: z.coerce.number().int().min(1000).max(60_000).default(5000),
  INGEST_RTMP_HOST: z.string().default('127.0.0.1'),
  INGEST_RTMP_PORTS: z
    .string()
    .regex(/^\d{4,5}-\d{4,5}$/, 'a range such as 19350-19449')
    .default('19350-19449'),
  DATA_DIR: z.string().default('data'),
  /** Below this much free space on DATA_DIR's disk no recording starts and readiness is degraded. */
  DATA_MIN_FREE_MB: z.coerce.number().min(0).max(10_000_000).default(512),
  CASE_RECORD_SINKS: z.string().default('filesystem'),
  CASE_RECORD_DIR: z.string().optional(),
  WEBHOOK_URL: z.string().url().optional(),
  WEBHOOK_SECRET: z.string().optional(),
  FHIR_BASE_URL: z.string().url().optional(),
  FHIR_MODE: z.enum(['document', 'transaction']).default('document'),
  FHIR_AUTHORIZATION: z.string().optional(),
  PUBLIC_URL: z.string().url().optional(),
  AUTO_RECORD_KINDS: z.string().default(''),
  RETENTION_MEDIA_YEARS: z.coerce.number().int().min(3).max(100).default(3),
  RETENTION_RECORD_YEARS: z.coerce.number().int().min(15).max(100).default(15),
  OUTBOX_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
  OUTBOX_RETRY_MAX_MS: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
  // Event webhooks (room, participant, track, recording, HLS events) to the hospital's own system.
  EVENT_WEBHOOK_URL: z.string().url().optional(),
  EVENT_WEBHOOK_SECRET: z.string().optional(),
  EVENT_WEBHOOK_SECRET_FILE: z.string().min(1).optional(),
  EVENT_WEBHOOK_EVENTS: z.string().optional(),
  EVENT_WEBHOOK_INCLUDE_NAMES: z.enum(['true', 'false', '1', '0']).default('false'),
  AUDIT_SEAL_KEY: z.string().optional(),
  AUDIT_SEAL_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only, at most 64')
    .optional(),
  // Several nodes on one Redis (unset: a single node, no Redis needed).
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .optional(),
  // …or through Redis Sentinel: "host:port,host:port" of the sentinels and the master's name there.
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  CLUSTER_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  CLUSTER_ROUTE: z.string().url().optional(),
  DRAIN_DEADLINE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  CLUSTER_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/)
    .default('telemed'),
});

export type Env = z.infer<typeof EnvSchema>;
