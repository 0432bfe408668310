/**
 * Signing and verifying case-record webhooks. Self-contained (node:crypto + jsonwebtoken) so a
 * receiving system can copy `verifyWebhook` as is. Two independent proofs travel with each POST:
 *
 *   Authorization: Bearer <JWT, HS256, claims { sha256: <hex SHA-256 of the body>, iss, aud, iat, exp }>
 *   X-Telemed-Signature: sha256=<hex HMAC-SHA256 of the body, same secret>
 *   Idempotency-Key: <case-record entry id>
 *
 * The JWT expires within minutes, so a captured request cannot be replayed later; the body hash
 * inside it binds the token to this exact body. Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';

export const SIGNATURE_HEADER = 'x-telemed-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const DEFAULT_WEBHOOK_ISSUER = 'telemed-sfu';
export const DEFAULT_WEBHOOK_AUDIENCE = 'case-record';

export interface WebhookSigningOptions {
  issuer?: string;
  audience?: string;
  /** Lifetime of the JWT (seconds). Short: it only has to survive the request. */
  ttlSeconds?: number;
}

export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

export function hmacHex(body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The signature headers for one body. */
export function signWebhook(body: string, secret: string, options: WebhookSigningOptions = {}): Record<string, string> {
  const token = jwt.sign({ sha256: sha256Hex(body) }, secret, {
    algorithm: 'HS256',
    issuer: options.issuer ?? DEFAULT_WEBHOOK_ISSUER,
    audience: options.audience ?? DEFAULT_WEBHOOK_AUDIENCE,
    expiresIn: options.ttlSeconds ?? 300,
  });
  return { authorization: `Bearer ${token}`, [SIGNATURE_HEADER]: `sha256=${hmacHex(body, secret)}` };
}

/** Header bag as node:http gives it, or a fetch `Headers`. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export type WebhookVerification = { ok: true; idempotencyKey: string | undefined; claims: jwt.JwtPayload } | { ok: false; reason: string };

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(found) ? found[0] : found;
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a received webhook. `body` must be the raw bytes as received (not re-serialized JSON).
 * Both the HMAC header and the JWT must be valid; the JWT must be HS256, unexpired, for `audience`,
 * from `issuer`, and carry the body's SHA-256.
 */
export function verifyWebhook(
  body: string | Uint8Array,
  headers: HeaderSource,
  secret: string,
  options: { issuer?: string; audience?: string; clockToleranceSeconds?: number } = {},
): WebhookVerification {
  const signature = header(headers, SIGNATURE_HEADER);
  if (!signature?.startsWith('sha256=')) return { ok: false, reason: 'missing X-Telemed-Signature' };
  if (!equalHex(signature.slice('sha256='.length), hmacHex(body, secret))) return { ok: false, reason: 'HMAC signature mismatch' };

  const auth = header(headers, 'authorization');
  if (!auth?.startsWith('Bearer ')) return { ok: false, reason: 'missing bearer token' };
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(auth.slice('Bearer '.length), secret, {
      algorithms: ['HS256'], // pinned: never let the token choose its algorithm
      issuer: options.issuer ?? DEFAULT_WEBHOOK_ISSUER,
      audience: options.audience ?? DEFAULT_WEBHOOK_AUDIENCE,
      clockTolerance: options.clockToleranceSeconds ?? 30,
    });
    if (typeof decoded === 'string') return { ok: false, reason: 'token payload is not an object' };
    claims = decoded;
  } catch (error) {
    return { ok: false, reason: `invalid token: ${(error as Error).message}` };
  }
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'token has no expiry' };
  if (typeof claims['sha256'] !== 'string' || !equalHex(claims['sha256'], sha256Hex(body))) {
    return { ok: false, reason: 'body does not match the token hash' };
  }
  return { ok: true, idempotencyKey: header(headers, IDEMPOTENCY_HEADER), claims };
}
