/**
 * What the room reports for the consultation's audit trail (全程留痕): who joined from which site,
 * who published, locked, admitted, muted, removed, chatted, ended. The room emits these as they
 * happen; the case-record layer appends them to the room's append-only AuditTrail (recordings/).
 */
import type { AuditActor, AuditData } from '../../recordings/AuditTrail.js';

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
  | 'recording_acknowledged'
  | 'room_ended'
  | 'room_closed';

/** An event as the room reports it; the trail adds its sequence number and time. */
export interface RoomAuditEvent {
  type: AuditType;
  /** Who did it. */
  actor?: AuditActor;
  /** To whom (muted, removed, admitted…), when not the actor. */
  subject?: AuditActor;
  data?: AuditData;
}
