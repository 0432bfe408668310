/**
 * Development-only token minting, for the demo page and the tests. In production this router is not
 * mounted at all: tokens come from the hospital's own system. Even in development it answers only
 * requests addressed to this machine by a loopback name, from no other site's page.
 */
import express from 'express';
import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AccessClaims, issuesToDetails, ProtocolError, RecordingAccessClaims } from '../../signaling/protocol/index.js';
import type { JwtAlgorithm } from '../config.js';

const DevTokenRequest = z
  .object({
    identity: z.string().min(1).max(128).optional(),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(3600),
  })
  .loose();

export interface DevTokenOptions {
  secret: string;
  algorithm: JwtAlgorithm;
  audience: string;
  issuer: string | undefined;
}

export function mintDevToken(options: DevTokenOptions, body: unknown): string {
  const req = DevTokenRequest.parse(body);
  const claims = AccessClaims.safeParse({ ...req, sub: req.identity ?? `dev-${randomUUID()}` });
  if (!claims.success) {
    throw new ProtocolError('BAD_REQUEST', 'invalid token request', issuesToDetails(claims.error.issues));
  }
  return jwt.sign(claims.data, options.secret, {
    algorithm: options.algorithm,
    audience: options.audience,
    expiresIn: req.ttlSeconds,
    ...(options.issuer ? { issuer: options.issuer } : {}),
  });
}

/** A recordings read token for one case (development only; hospitals issue their own). */
export function mintDevRecordingToken(options: DevTokenOptions, body: unknown): string {
  const parsed = RecordingAccessClaims.omit({ scope: true, sub: true })
    .extend({ identity: z.string().min(1).max(128).default('dev-records') })
    .safeParse(body);
  if (!parsed.success) throw new ProtocolError('BAD_REQUEST', 'invalid token request', issuesToDetails(parsed.error.issues));
  const claims: RecordingAccessClaims = { sub: parsed.data.identity, caseId: parsed.data.caseId, scope: 'recordings:read' };
  return jwt.sign(claims, options.secret, {
    algorithm: options.algorithm,
    audience: options.audience,
    expiresIn: 600,
    ...(options.issuer ? { issuer: options.issuer } : {}),
  });
}

/** The names by which a loopback server is reached; anything else in Host is another site's name. */
const LOOPBACK_HOSTNAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** `authority` (host[:port], as in Host) names this server on loopback, at the port the request came in on. */
function isLoopbackAuthority(authority: string, port: number): boolean {
  const a = authority.toLowerCase();
  return LOOPBACK_HOSTNAMES.some((host) => a === `${host}:${port}` || (port === 80 && a === host));
}

/**
 * DNS rebinding: a page on evil.example whose name is re-pointed at 127.0.0.1 reaches this port as a
 * "same-origin" page, but its requests still say `Host: evil.example`. A foreign Origin is another
 * site's page calling across (an `Origin: null` sandbox included). Both are refused.
 */
function loopbackCallersOnly(req: express.Request, res: express.Response, next: express.NextFunction): void {
  const port = req.socket.localPort;
  const host = req.headers.host;
  const origin = req.headers.origin;
  const refusal =
    port === undefined || host === undefined || !isLoopbackAuthority(host, port)
      ? 'development tokens are served only to requests addressed to 127.0.0.1, localhost or [::1] at this port'
      : origin !== undefined && !(origin.startsWith('http://') && isLoopbackAuthority(origin.slice('http://'.length), port))
        ? "development tokens are not served to another site's page"
        : undefined;
  if (!refusal) return next();
  const wire = new ProtocolError('FORBIDDEN', refusal).toWire();
  res.status(wire.status).json({ error: wire });
}

export function devTokenRouter(options: DevTokenOptions): express.Router {
  const router = express.Router();
  router.use('/dev', loopbackCallersOnly);
  router.post('/dev/recording-token', express.json({ limit: '4kb' }), (req, res) => {
    try {
      res.json({ token: mintDevRecordingToken(options, req.body) });
    } catch (error) {
      const wire = (error instanceof ProtocolError ? error : new ProtocolError('BAD_REQUEST', 'invalid token request')).toWire();
      res.status(wire.status).json({ error: wire });
    }
  });
  router.post('/dev/token', express.json({ limit: '16kb' }), (req, res) => {
    try {
      res.json({ token: mintDevToken(options, req.body) });
    } catch (error) {
      const wire =
        error instanceof ProtocolError
          ? error.toWire()
          : new ProtocolError(
              'BAD_REQUEST',
              'invalid token request',
              error instanceof z.ZodError ? issuesToDetails(error.issues) : undefined,
            ).toWire();
      res.status(wire.status).json({ error: wire });
    }
  });
  return router;
}
