/**
 * Validators for the access token's claims (server only); the types are in ../types/claims.ts and
 * each validator is checked at compile time to accept and produce exactly its type.
 */
import { z } from 'zod';
import type * as T from '../types/claims.js';
import type { Assert, Matches } from './check.js';
import { Identifier, Role, RoomId, RoomKind, Site } from './domain.js';

export const AccessClaims = z
  .object({
    /** Real-name identity from the hospital system (e.g. staff or patient id). */
    sub: Identifier,
    name: z.string().min(1).max(200),
    role: Role,
    site: Site,
    room: RoomId,
    kind: RoomKind,
    /** The patient case a consultation is about; required for consultation and follow-up rooms. */
    caseId: Identifier.optional(),
    /** Proof of a prior in-person visit, required for patients in follow-up rooms. */
    priorVisit: z.object({ encounterId: Identifier, date: z.string().min(1).max(40) }).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.kind === 'consultation' || c.kind === 'follow_up') && !c.caseId) {
      ctx.addIssue({ code: 'custom', path: ['caseId'], message: `a ${c.kind} room requires a case id` });
    }
  });
export type AccessClaims = T.AccessClaims;

export const RecordingAccessClaims = z.object({
  sub: Identifier,
  caseId: Identifier,
  scope: z.literal('recordings:read'),
});
export type RecordingAccessClaims = T.RecordingAccessClaims;

export const AdminClaims = z.object({ sub: Identifier, scope: z.literal('admin') });
export type AdminClaims = T.AdminClaims;

type _Checks = [
  Assert<Matches<typeof AccessClaims, T.AccessClaims>>,
  Assert<Matches<typeof RecordingAccessClaims, T.RecordingAccessClaims>>,
  Assert<Matches<typeof AdminClaims, T.AdminClaims>>,
];
