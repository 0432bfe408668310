/** Test tokens signed with a per-run random secret (never a secret in the repo). */
import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role, RoomKind, SiteLevel } from '../../signaling/protocol/index.js';

export const TEST_SECRET = randomBytes(32).toString('hex');
export const TEST_AUDIENCE = 'telemed-sfu-test';

export interface TokenSpec {
  sub?: string;
  name?: string;
  role?: Role;
  site?: { id: string; name: string; level: SiteLevel };
  room?: string;
  kind?: RoomKind;
  caseId?: string | undefined;
  priorVisit?: { encounterId: string; date: string };
}

let counter = 0;

export function claims(spec: TokenSpec = {}): Record<string, unknown> {
  counter++;
  const out: Record<string, unknown> = {
    sub: spec.sub ?? `user-${counter}`,
    name: spec.name ?? `Dr. Test ${counter}`,
    role: spec.role ?? 'specialist',
    site: spec.site ?? { id: 'site-a', name: 'Provincial Cancer Hospital', level: 'tertiary_hospital' },
    room: spec.room ?? 'room-1',
    kind: spec.kind ?? 'consultation',
  };
  const caseId = 'caseId' in spec ? spec.caseId : 'CASE-1';
  if (caseId !== undefined) out['caseId'] = caseId;
  if (spec.priorVisit) out['priorVisit'] = spec.priorVisit;
  return out;
}

export function token(spec: TokenSpec = {}, options: jwt.SignOptions = {}, secret = TEST_SECRET): string {
  return jwt.sign(claims(spec), secret, { algorithm: 'HS256', audience: TEST_AUDIENCE, expiresIn: 600, ...options });
}

/** An operator's token for the admin API (scope `admin`), signed like access tokens. */
export function adminToken(sub = 'ops-zhou-min', options: jwt.SignOptions = {}): string {
  return jwt.sign({ sub, scope: 'admin' }, TEST_SECRET, { algorithm: 'HS256', audience: TEST_AUDIENCE, expiresIn: 600, ...options });
}
