/** @telemed/client-sdk — embed remote consultations in a clinic's own web page. */
export { ConsultationClient } from './ConsultationClient.js';
export type { ClientEvents, JoinOptions, ReceiveQuality, RemoteTrack } from './ConsultationClient.js';
export type { PublishOptions } from './MediaSession.js';
export {
  ProtocolError,
  ROLE_LABELS,
  SITE_LEVEL_LABELS,
  PROTOCOL_VERSION,
  type ErrorCode,
  type LeaveReason,
  type MediaKind,
  type MediaSource,
  type ParticipantInfo,
  type Permission,
  type Role,
  type RoomKind,
  type Site,
  type SiteLevel,
} from '../../signaling/protocol/index.js';
