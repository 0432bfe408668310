/**
 * The access token's claims. The hospital's own system issues the JWT; the media server only
 * verifies it (with ../schemas/claims.ts). The identity in the token is the identity shown to others
 * and written to the record.
 */
import type { RoomKind, Role, Site } from './domain.js';

export interface AccessClaims {
  /** Real-name identity from the hospital system (e.g. staff or patient id). */
  sub: string;
  name: string;
  role: Role;
  site: Site;
  room: string;
  kind: RoomKind;
  /** The patient case a consultation is about; required for consultation and follow-up rooms. */
  caseId?: string | undefined;
  /** Proof of a prior in-person visit, required for patients in follow-up rooms. */
  priorVisit?: { encounterId: string; date: string } | undefined;
}

/**
 * A token that lets the hospital's record system (or a clinician's viewer) read one case's
 * recordings over HTTP. Issued by the hospital system like access tokens, with the same keys.
 */
export interface RecordingAccessClaims {
  sub: string;
  caseId: string;
  scope: 'recordings:read';
}

/**
 * A token for the operators' HTTP API (`/admin/…`): signed with the same keys, but its scope makes it
 * useless for joining a room, and an access token (no scope) is useless here.
 */
export interface AdminClaims {
  sub: string;
  scope: 'admin';
}
