/**
 * Development-only token minting, for the demo page and the tests. In production this router is not
 * mounted at all: tokens come from the hospital's own system.
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

export function devTokenRouter(options: DevTokenOptions): express.Router {
  const router = express.Router();
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
