/**
 * Configuration from environment variables, validated once at start. Defaults are safe for a single
 * machine: loopback only, production mode (no dev tokens) unless APP_MODE=development is asked for
 * (`npm start` does, with a banner), no external services. The variables (names, bounds, defaults)
 * are declared in configEnv.ts; here they become the typed Config, with the checks that span several.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { derivedKeyId } from '../recordings/trailChain.js';
import type { RedisTarget, SentinelAddress } from './cluster/redis.js';
import { readTls, type TlsMaterial } from './http/tls.js';
import { ROOM_EVENT_TYPES, type RoomEventType } from './events/types.js';
import { issuesToDetails, ROOM_KINDS, type RoomKind } from '../signaling/protocol/index.js';

import { ALGORITHMS, EnvSchema, list, type Env, type JwtAlgorithm } from './configEnv.js';

export type { JwtAlgorithm };

export interface Config {
  mode: 'development' | 'production';
  http: { host: string; port: number; corsOrigins: string[] | '*'; tls: TlsMaterial | undefined };
  media: {
    workers: number;
    listenIp: string;
    announcedAddress: string | undefined;
    port: number;
    initialOutgoingBitrate: number;
    maxIncomingBitrate: number;
    logLevel: 'debug' | 'warn' | 'error' | 'none';
    /** Worker health: a ping every interval; no answer within the timeout → killed and replaced. */
    health: { pingIntervalMs: number; pingTimeoutMs: number; restartAttempts: number };
  };
  /** Every request is answered within this bound (UNAVAILABLE when its handler has not finished). */
  signaling: { requestTimeoutMs: number; connectionLimits: { perIdentity: number; perAddress: number } };
  /** Bounds of the pre-call check's test transports (see server/media/PreflightLab.ts). */
  preflight: { maxTests: number; perIdentityPerMinute: number; testSeconds: number };
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
  /** At SIGTERM/SIGINT, how long recordings may take to be finished (hashed, archived) before the process exits anyway. */
  shutdownGraceSeconds: number;
  /** Limits per identity and room that survive rejoining, and how long an empty room stays open. */
  rooms: { emptyLingerSeconds: number; joinBurst: number; joinIntervalSeconds: number; chatMessagesOnJoin: number };
  /** `viewersPerNode`: clustered, the viewers one node hosts before new ones go to edge nodes. */
  broadcast: { consumersPerRouter: number; keyFrameRequestDelayMs: number; viewersPerNode: number };
  records: RecordsConfig;
  /** Set when EVENT_WEBHOOK_URL is: room events signed and delivered to the hospital's own system. */
  events: EventWebhookConfig | undefined;
  /** Encoder ingest (WHIP, RTMP): grace period, token lifetimes, RTMP listener address and ports. */
  ingest: IngestConfig;
  /** Set when nodes share rooms through Redis (REDIS_URL, or REDIS_SENTINELS + REDIS_SENTINEL_NAME). */
  cluster: ClusterConfig | undefined;
  logLevel: string;
  dataDir: string;
}

export interface RecordsConfig {
  sinks: ('filesystem' | 'webhook' | 'fhir')[];
  /** DATA_DIR: its disk's free space is watched. */
  dataDir: string;
  /** DATA_MIN_FREE_MB in bytes: below it no recording starts and `/readyz` is degraded. */
  minFreeBytes: number;
  /** Local archive of case records (the filesystem sink), a folder per case. */
  caseRecordDir: string;
  recordingsDir: string;
  auditDir: string;
  outboxDir: string;
  webhook: { url: string; secret: string } | undefined;
  fhir: { baseUrl: string; mode: 'document' | 'transaction'; authorization: string | undefined } | undefined;
  /** Base URL under which the record system can fetch files (GET /recordings/...), if reachable. */
  publicUrl: string | undefined;
  autoRecordKinds: RoomKind[];
  retention: { mediaYears: number; recordYears: number };
  outboxRetry: { baseMs: number; maxMs: number };
  /** Seals audit trails (HMAC-SHA256, key id written in each seal). Unset only in development: the service then makes an ephemeral key. */
  auditSeal: { key: string; keyId: string } | undefined;
}

export interface EventWebhookConfig {
  url: string;
  /** Shared with the receiver, at least 32 characters (EVENT_WEBHOOK_SECRET or the file EVENT_WEBHOOK_SECRET_FILE). */
  secret: string;
  /** The event types sent (EVENT_WEBHOOK_EVENTS; all by default). */
  events: RoomEventType[];
  /** Adds people's real-name identity and display name to events (off: role, site and a pseudonym only). */
  includeNames: boolean;
  outboxDir: string;
  retry: { baseMs: number; maxMs: number };
}

export interface IngestConfig {
  graceSeconds: number;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  perRoom: number;
  healthIntervalMs: number;
  rtmp: { host: string; portRange: { min: number; max: number } };
}

function ingestConfig(e: Env): IngestConfig {
  const [min = 0, max = 0] = e.INGEST_RTMP_PORTS.split('-').map(Number);
  if (min < 1024 || max > 65535 || max < min) throw new ConfigError('INGEST_RTMP_PORTS: a range of ports between 1024 and 65535, low-high');
  return {
    graceSeconds: e.INGEST_GRACE_SECONDS,
    defaultTtlSeconds: Math.min(e.INGEST_TOKEN_TTL_SECONDS, e.INGEST_MAX_TTL_SECONDS),
    maxTtlSeconds: e.INGEST_MAX_TTL_SECONDS,
    perRoom: e.INGEST_PER_ROOM,
    healthIntervalMs: e.INGEST_HEALTH_INTERVAL_MS,
    rtmp: { host: e.INGEST_RTMP_HOST, portRange: { min, max } },
  };
}

export interface ClusterConfig {
  redis: RedisTarget;
  nodeId: string;
  /** Where clients reach this node (its public URL); defaults to the HTTP listen address. */
  route: string | undefined;
  namespace: string;
  /** At SIGTERM a clustered node drains: its rooms run this long at most, then move to other nodes. */
  drainDeadlineSeconds: number;
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
    throw new ConfigError(
      'production mode (the default; APP_MODE=development for a trial on this machine) ' +
        'needs JWT_SECRETS or JWT_PUBLIC_KEY_FILES to verify access tokens',
    );
  }
  if (e.APP_MODE === 'development' && !['127.0.0.1', '::1', 'localhost'].includes(e.HTTP_HOST)) {
    // Development mode mints tokens for anyone who asks: it must never be reachable from a network.
    throw new ConfigError(
      `APP_MODE=development serves /dev/token and only listens on loopback; HTTP_HOST=${e.HTTP_HOST} needs APP_MODE=production`,
    );
  }
  if (['0.0.0.0', '::'].includes(e.MEDIA_LISTEN_IP) && !e.MEDIA_ANNOUNCED_ADDRESS) {
    // Browsers cannot send media to 0.0.0.0: they need the address they can actually reach.
    throw new ConfigError('MEDIA_LISTEN_IP is a wildcard: set MEDIA_ANNOUNCED_ADDRESS to the IP or host name clients reach');
  }
  const turnUrls = list(e.TURN_URLS);
  if (turnUrls.length > 0 && !e.TURN_SECRET)
    throw new ConfigError('TURN_URLS is set: TURN_SECRET (coturn static-auth-secret) is required too');
  for (const url of turnUrls) if (!/^turns?:/.test(url)) throw new ConfigError(`TURN_URLS: "${url}" is not a turn: or turns: URL`);
  for (const variable of ['WEBHOOK_URL', 'EVENT_WEBHOOK_URL', 'FHIR_BASE_URL', 'PUBLIC_URL', 'CLUSTER_ROUTE'] as const)
    requireSecureTransport(e.APP_MODE, variable, e[variable]);
  const records = recordsConfig(e);
  const redis = redisTarget(e);
  if (redis && secrets.length === 0 && publicKeyFiles.length === 0) {
    // Every node must accept every token: an ephemeral per-process secret cannot be shared.
    throw new ConfigError('REDIS_URL or REDIS_SENTINELS (a cluster) needs JWT_SECRETS or JWT_PUBLIC_KEY_FILES shared by all nodes');
  }
  return {
    mode: e.APP_MODE,
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      corsOrigins: corsOrigins(e.APP_MODE, e.CORS_ORIGINS),
      tls: tlsConfig(e.TLS_CERT_FILE, e.TLS_KEY_FILE),
    },
    media: {
      workers: e.MEDIA_WORKERS,
      listenIp: e.MEDIA_LISTEN_IP,
      announcedAddress: e.MEDIA_ANNOUNCED_ADDRESS,
      port: e.MEDIA_PORT,
      initialOutgoingBitrate: e.MEDIA_INITIAL_OUTGOING_BITRATE,
      maxIncomingBitrate: e.MEDIA_MAX_INCOMING_BITRATE,
      logLevel: e.MEDIA_LOG_LEVEL,
      health: {
        pingIntervalMs: e.MEDIA_WORKER_PING_INTERVAL_MS,
        pingTimeoutMs: e.MEDIA_WORKER_PING_TIMEOUT_MS,
        restartAttempts: e.MEDIA_WORKER_RESTART_ATTEMPTS,
      },
    },
    signaling: {
      requestTimeoutMs: e.SIGNALING_REQUEST_TIMEOUT_MS,
      connectionLimits: { perIdentity: e.SIGNALING_MAX_SOCKETS_PER_IDENTITY, perAddress: e.SIGNALING_MAX_SOCKETS_PER_ADDRESS },
    },
    preflight: {
      maxTests: e.PREFLIGHT_MAX_TESTS,
      perIdentityPerMinute: e.PREFLIGHT_TESTS_PER_MINUTE,
      testSeconds: e.PREFLIGHT_TEST_SECONDS,
    },
    jwt: {
      algorithms: algorithms as JwtAlgorithm[],
      secrets,
      publicKeyFiles,
      audience: e.JWT_AUDIENCE,
      issuer: e.JWT_ISSUER,
      maxTtlSeconds: e.JWT_MAX_TTL_SECONDS,
    },
    turn:
      turnUrls.length > 0 && e.TURN_SECRET
        ? { urls: turnUrls, secret: e.TURN_SECRET, ttlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS }
        : undefined,
    reconnectGraceSeconds: e.RECONNECT_GRACE_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    rooms: {
      emptyLingerSeconds: e.ROOM_EMPTY_LINGER_SECONDS,
      joinBurst: e.ROOM_JOIN_BURST,
      joinIntervalSeconds: e.ROOM_JOIN_INTERVAL_SECONDS,
      chatMessagesOnJoin: e.CHAT_MESSAGES_ON_JOIN,
    },
    records,
    events: eventWebhookConfig(e, records),
    cluster: redis
      ? {
          redis,
          nodeId: e.CLUSTER_NODE_ID ?? `${os.hostname()}-${process.pid}`,
          route: e.CLUSTER_ROUTE,
          namespace: e.CLUSTER_NAMESPACE,
          drainDeadlineSeconds: e.DRAIN_DEADLINE_SECONDS,
        }
      : undefined,
    ingest: ingestConfig(e),
    broadcast: {
      consumersPerRouter: e.BROADCAST_CONSUMERS_PER_ROUTER,
      keyFrameRequestDelayMs: e.BROADCAST_KEYFRAME_DELAY_MS,
      // A viewer mostly receives a presenter's camera and microphone: two consumers.
      viewersPerNode: e.BROADCAST_VIEWERS_PER_NODE || Math.max(1, Math.floor((e.MEDIA_WORKERS * e.BROADCAST_CONSUMERS_PER_ROUTER) / 2)),
    },
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
  };
}

/** The cluster's Redis: at one URL, or found through Sentinel; undefined for a single node. */
function redisTarget(e: Env): RedisTarget | undefined {
  const sentinels = e.REDIS_SENTINELS === undefined ? undefined : parseSentinels(e.REDIS_SENTINELS);
  if (e.REDIS_URL && (sentinels || e.REDIS_SENTINEL_NAME))
    throw new ConfigError('REDIS_URL and REDIS_SENTINELS/REDIS_SENTINEL_NAME are two ways to reach Redis: set one of them');
  if (e.REDIS_URL) return { url: e.REDIS_URL, password: e.REDIS_PASSWORD };
  if (!sentinels && !e.REDIS_SENTINEL_NAME) {
    if (e.REDIS_PASSWORD || e.REDIS_SENTINEL_PASSWORD)
      throw new ConfigError('REDIS_PASSWORD/REDIS_SENTINEL_PASSWORD are set but no Redis is (REDIS_URL or REDIS_SENTINELS)');
    return undefined;
  }
  if (!sentinels) throw new ConfigError('REDIS_SENTINEL_NAME is set: REDIS_SENTINELS (host:port of the sentinels) is required too');
  if (!e.REDIS_SENTINEL_NAME)
    throw new ConfigError('REDIS_SENTINELS is set: REDIS_SENTINEL_NAME (the master name the sentinels monitor) is required too');
  return { sentinels, name: e.REDIS_SENTINEL_NAME, password: e.REDIS_PASSWORD, sentinelPassword: e.REDIS_SENTINEL_PASSWORD };
}

/** "host:port,host:port" → addresses (an IPv6 host in brackets: "[fd00::5]:26379"). */
function parseSentinels(value: string): SentinelAddress[] {
  const entries = list(value);
  if (entries.length === 0) throw new ConfigError('REDIS_SENTINELS: give the sentinels as host:port, comma-separated');
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65535) throw new ConfigError(`REDIS_SENTINELS: "${entry}" is not host:port`);
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
}

function recordsConfig(e: Env): RecordsConfig {
  const dataDir = path.resolve(e.DATA_DIR);
  const sinks = list(e.CASE_RECORD_SINKS);
  for (const sink of sinks) {
    if (!['filesystem', 'webhook', 'fhir'].includes(sink))
      throw new ConfigError(`CASE_RECORD_SINKS: unknown sink "${sink}" (filesystem, webhook, fhir)`);
  }
  if (!sinks.includes('filesystem')) sinks.unshift('filesystem'); // the local archive is always kept
  if (sinks.includes('webhook') && (!e.WEBHOOK_URL || !e.WEBHOOK_SECRET || e.WEBHOOK_SECRET.length < 32)) {
    throw new ConfigError('the webhook sink needs WEBHOOK_URL and WEBHOOK_SECRET (at least 32 characters)');
  }
  if (sinks.includes('fhir') && !e.FHIR_BASE_URL) throw new ConfigError('the fhir sink needs FHIR_BASE_URL');
  const autoRecordKinds = list(e.AUTO_RECORD_KINDS);
  for (const k of autoRecordKinds)
    if (!(ROOM_KINDS as readonly string[]).includes(k)) throw new ConfigError(`AUTO_RECORD_KINDS: unknown room kind "${k}"`);
  return {
    sinks: sinks as RecordsConfig['sinks'],
    dataDir,
    minFreeBytes: Math.round(e.DATA_MIN_FREE_MB * 1024 * 1024),
    caseRecordDir: path.resolve(e.CASE_RECORD_DIR ?? path.join(dataDir, 'case-records')),
    recordingsDir: path.join(dataDir, 'recordings'),
    auditDir: path.join(dataDir, 'audit'),
    outboxDir: path.join(dataDir, 'outbox'),
    webhook: sinks.includes('webhook') && e.WEBHOOK_URL && e.WEBHOOK_SECRET ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET } : undefined,
    fhir:
      sinks.includes('fhir') && e.FHIR_BASE_URL
        ? { baseUrl: e.FHIR_BASE_URL, mode: e.FHIR_MODE, authorization: e.FHIR_AUTHORIZATION }
        : undefined,
    publicUrl: e.PUBLIC_URL,
    autoRecordKinds: autoRecordKinds as RoomKind[],
    retention: { mediaYears: e.RETENTION_MEDIA_YEARS, recordYears: e.RETENTION_RECORD_YEARS },
    outboxRetry: { baseMs: e.OUTBOX_RETRY_BASE_MS, maxMs: e.OUTBOX_RETRY_MAX_MS },
    auditSeal: auditSealConfig(e),
  };
}

/** The event webhook: a URL, its secret (from the environment or a file kept out of it), which events. */
function eventWebhookConfig(e: Env, records: RecordsConfig): EventWebhookConfig | undefined {
  const { EVENT_WEBHOOK_URL: url, EVENT_WEBHOOK_SECRET: inline, EVENT_WEBHOOK_SECRET_FILE: file } = e;
  if (!url) {
    if (inline || file || e.EVENT_WEBHOOK_EVENTS) throw new ConfigError('EVENT_WEBHOOK_* is set but EVENT_WEBHOOK_URL is not');
    return undefined;
  }
  if (inline && file) throw new ConfigError('EVENT_WEBHOOK_SECRET and EVENT_WEBHOOK_SECRET_FILE are two ways to give one secret: set one');
  let secret = inline;
  if (file) {
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(
        `EVENT_WEBHOOK_SECRET_FILE: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  }
  if (!secret || secret.length < 32)
    throw new ConfigError('EVENT_WEBHOOK_URL needs EVENT_WEBHOOK_SECRET or EVENT_WEBHOOK_SECRET_FILE (at least 32 characters)');
  const names = e.EVENT_WEBHOOK_EVENTS === undefined ? [...ROOM_EVENT_TYPES] : list(e.EVENT_WEBHOOK_EVENTS);
  for (const name of names) {
    if (!(ROOM_EVENT_TYPES as readonly string[]).includes(name))
      throw new ConfigError(`EVENT_WEBHOOK_EVENTS: unknown event "${name}" (${ROOM_EVENT_TYPES.join(', ')})`);
  }
  if (names.length === 0) throw new ConfigError('EVENT_WEBHOOK_EVENTS is empty: name the events to send, or unset it for all');
  return {
    url,
    secret,
    events: names as RoomEventType[],
    includeNames: e.EVENT_WEBHOOK_INCLUDE_NAMES === 'true' || e.EVENT_WEBHOOK_INCLUDE_NAMES === '1',
    outboxDir: path.join(records.dataDir, 'event-outbox'),
    retry: records.outboxRetry,
  };
}

/** Like JWT_SECRETS: required in production; in development its absence means an ephemeral key (and a warning). */
function auditSealConfig(e: Env): RecordsConfig['auditSeal'] {
  const key = e.AUDIT_SEAL_KEY;
  if (!key) {
    if (e.AUDIT_SEAL_KEY_ID) throw new ConfigError('AUDIT_SEAL_KEY_ID is set but AUDIT_SEAL_KEY is not');
    if (e.APP_MODE === 'production') {
      throw new ConfigError('production mode needs AUDIT_SEAL_KEY (at least 32 characters) to seal audit trails so tampering can be shown');
    }
    return undefined;
  }
  if (key.length < 32) throw new ConfigError('AUDIT_SEAL_KEY must be at least 32 characters');
  return { key, keyId: e.AUDIT_SEAL_KEY_ID ?? derivedKeyId(key) };
}

/** `host` (as URL.hostname spells it) never leaves this machine. */
function isLoopbackHostname(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Case records, recordings and their links carry patient data: in production they travel over https.
 * Plain http is accepted to a loopback host only (a TLS sidecar or integration engine on this machine),
 * since that traffic is never on a wire; development accepts http anywhere.
 */
function requireSecureTransport(mode: Config['mode'], variable: string, value: string | undefined): void {
  if (mode !== 'production' || value === undefined) return;
  const url = new URL(value);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname))) return;
  throw new ConfigError(
    `${variable}: production sends patient data there and needs an https:// URL (http:// only to a loopback host); got ${url.protocol}//${url.host}`,
  );
}

/**
 * Origins whose pages may open signaling. Development may allow any (`*`, the default there);
 * production names the hospital's own pages, so no other site's page can use the server from a browser.
 */
function corsOrigins(mode: Config['mode'], value: string | undefined): string[] | '*' {
  const origins = list(value);
  if (mode === 'production' && (origins.length === 0 || origins.includes('*'))) {
    throw new ConfigError(
      'CORS_ORIGINS: production needs the explicit origins allowed to open signaling, comma-separated (e.g. https://consult.hospital.example); `*` is for development only',
    );
  }
  if (origins.length === 0 || origins.includes('*')) return '*';
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin)
      throw new ConfigError(`CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`);
  }
  return origins;
}

/** Both TLS files or neither; read and checked now (see readTls). */
function tlsConfig(certFile: string | undefined, keyFile: string | undefined): TlsMaterial | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE go together: set both (or neither, for plain HTTP)');
  try {
    return readTls(certFile, keyFile);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
