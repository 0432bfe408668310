/**
 * Domain vocabulary shared by server and SDK: who connects, from which site, into which kind of room.
 * Plain types and `as const` lists only, no runtime dependency: the browser SDK's published
 * declarations are built from this layer. The server's validators (../schemas/domain.ts) are checked
 * at compile time against these types, so the two cannot drift apart.
 */

export const ROLES = ['lead_specialist', 'specialist', 'clinic_doctor', 'care_team', 'patient', 'observer', 'presenter', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROOM_KINDS = ['consultation', 'follow_up', 'broadcast', 'training'] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];

export const SITE_LEVELS = ['tertiary_hospital', 'county_hospital', 'township_health_centre', 'village_clinic'] as const;
export type SiteLevel = (typeof SITE_LEVELS)[number];

export interface Site {
  id: string;
  name: string;
  level: SiteLevel;
}

export const MEDIA_SOURCES = ['camera', 'microphone', 'screen'] as const;
export type MediaSource = (typeof MEDIA_SOURCES)[number];
export const MEDIA_KINDS = ['audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** What every participant learns about another: the identity in the token is the one shown. */
export interface ParticipantInfo {
  id: string;
  identity: string;
  displayName: string;
  role: Role;
  site: Site;
  joinedAt: string;
}

export interface ProducerInfo {
  id: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
}

export const CHAT_MAX_LENGTH = 2000;

export interface ChatMessage {
  id: string;
  participantId: string;
  displayName: string;
  role: Role;
  siteName: string;
  text: string;
  at: string;
}

export const QUESTION_MAX_LENGTH = 500;
export const QUESTION_STATUSES = ['pending', 'approved', 'hidden', 'answered'] as const;
export type QuestionStatus = (typeof QUESTION_STATUSES)[number];

/** A viewer's written question in a broadcast or training (Q&A). */
export interface Question {
  id: string;
  text: string;
  askedBy: { participantId: string; displayName: string; siteName: string };
  askedAt: string;
  status: QuestionStatus;
}
