/**
 * Domain vocabulary shared by server and SDK: who connects, from which site, into which kind of room.
 * Schemas are the single source of truth; the TypeScript types are derived from them so the
 * validator and the type can never drift apart.
 */
import { z } from 'zod';

export const ROLES = [
  'lead_specialist',
  'specialist',
  'clinic_doctor',
  'care_team',
  'patient',
  'observer',
  'presenter',
  'viewer',
] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const ROOM_KINDS = ['consultation', 'follow_up', 'broadcast', 'training'] as const;
export const RoomKind = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKind>;

export const SITE_LEVELS = ['tertiary_hospital', 'county_hospital', 'township_health_centre', 'village_clinic'] as const;
export const SiteLevel = z.enum(SITE_LEVELS);
export type SiteLevel = z.infer<typeof SiteLevel>;

/** Room ids travel in URLs and file names: keep them to a safe alphabet. */
export const RoomId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'room id: 1-64 of A-Z a-z 0-9 _ . -');
export const Identifier = z.string().min(1).max(128);

export const Site = z.object({
  id: Identifier,
  name: z.string().min(1).max(200),
  level: SiteLevel,
});
export type Site = z.infer<typeof Site>;

export const MEDIA_SOURCES = ['camera', 'microphone', 'screen'] as const;
export const MediaSource = z.enum(MEDIA_SOURCES);
export type MediaSource = z.infer<typeof MediaSource>;
export const MediaKind = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof MediaKind>;

/** What every participant learns about another: the identity in the token is the one shown. */
export const ParticipantInfo = z.object({
  id: z.string(),
  identity: Identifier,
  displayName: z.string(),
  role: Role,
  site: Site,
  joinedAt: z.string(),
});
export type ParticipantInfo = z.infer<typeof ParticipantInfo>;

export const ProducerInfo = z.object({
  id: z.string(),
  participantId: z.string(),
  kind: MediaKind,
  source: MediaSource,
  paused: z.boolean(),
});
export type ProducerInfo = z.infer<typeof ProducerInfo>;

export const CHAT_MAX_LENGTH = 2000;

export const ChatMessage = z.object({
  id: z.string(),
  participantId: z.string(),
  displayName: z.string(),
  role: Role,
  siteName: z.string(),
  text: z.string(),
  at: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const QUESTION_MAX_LENGTH = 500;
export const QuestionStatus = z.enum(['pending', 'approved', 'hidden', 'answered']);
export type QuestionStatus = z.infer<typeof QuestionStatus>;

/** A viewer's written question in a broadcast or training (Q&A). */
export interface Question {
  id: string;
  text: string;
  askedBy: { participantId: string; displayName: string; siteName: string };
  askedAt: string;
  status: QuestionStatus;
}
