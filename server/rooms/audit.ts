/**
 * What the room reports for the consultation's audit trail (全程留痕): who joined from which site,
 * who published, locked, admitted, muted, removed, chatted, ended. The room emits these as they
 * happen; the recording layer persists them append-only and hands them to the case record.
 */
import type { ParticipantInfo } from '../../signaling/protocol/index.js';

export type AuditType =
  | 'participant_joined'
  | 'participant_left'
  | 'participant_reconnecting'
  | 'participant_resumed'
  | 'lobby_waiting'
  | 'lobby_admitted'
  | 'lobby_declined'
  | 'room_locked'
  | 'room_unlocked'
  | 'published'
  | 'unpublished'
  | 'muted'
  | 'unmute_allowed'
  | 'screen_share_stopped'
  | 'removed'
  | 'hand_raised'
  | 'hand_lowered'
  | 'chat'
  | 'question_asked'
  | 'question_updated'
  | 'stage_granted'
  | 'stage_revoked'
  | 'hls_started'
  | 'hls_stopped'
  | 'room_ended'
  | 'room_closed';

export interface AuditParty {
  participantId: string;
  identity: string;
  name: string;
  role: string;
  siteId: string;
  siteName: string;
}

export interface AuditEvent {
  type: AuditType;
  at: string;
  actor?: AuditParty;
  subject?: AuditParty;
  data?: Record<string, unknown>;
}

export function party(info: ParticipantInfo): AuditParty {
  return {
    participantId: info.id,
    identity: info.identity,
    name: info.displayName,
    role: info.role,
    siteId: info.site.id,
    siteName: info.site.name,
  };
}
