/**
 * The access token's claims. The hospital's own system issues the JWT; the media server only
 * verifies it. The identity in the token is the identity shown to others and written to the record.
 */
import { z } from 'zod';
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
export type AccessClaims = z.infer<typeof AccessClaims>;

/**
 * A token that lets the hospital's record system (or a clinician's viewer) read one case's
 * recordings over HTTP. Issued by the hospital system like access tokens, with the same keys.
 */
export const RecordingAccessClaims = z.object({
  sub: Identifier,
  caseId: Identifier,
  scope: z.literal('recordings:read'),
});
export type RecordingAccessClaims = z.infer<typeof RecordingAccessClaims>;
