/** @telemed/client-sdk — embed remote consultations in a clinic's own web page. */
export { ConsultationClient } from './ConsultationClient.js';
export type { ClientEvents, JoinOptions, ReceiveQuality, RemoteTrack } from './ConsultationClient.js';
export { defaultReconnectPolicy, type ConnectionState, type ReconnectPolicy } from './reconnect.js';
export type { NetworkOptions } from './MediaTransports.js';
export type { Audience, AudienceEvents } from './Audience.js';
export type { Moderation } from './Moderation.js';
export type { Recording, RecordingEvents } from './Recording.js';
export type { PublishOptions } from './MediaSession.js';
export { JOIN_PHASES, type JoinPhase, type JoinTimings } from './JoinTimeline.js';
export { SDK_VERSION } from './version.js';
export { listDevices, setSpeaker, type DeviceList } from './Devices.js';
export type { DeviceLoss, CaptureSource } from './DeviceWatch.js';
export { preflight } from './Preflight.js';
export {
  PREFLIGHT_REASONS,
  type CaptureCheck,
  type CheckStatus,
  type MediaPathCheck,
  type PreflightOptions,
  type PreflightReason,
  type PreflightResult,
  type SignalingCheck,
  type SpeakerCheck,
} from './preflightTypes.js';
export {
  ProtocolError,
  ROLE_LABELS,
  SITE_LEVEL_LABELS,
  ROLE_LABELS_ZH,
  SITE_LEVEL_LABELS_ZH,
  LABELS,
  LABEL_LANGUAGES,
  type LabelLanguage,
  type LabelSet,
  PROTOCOL_VERSION,
  type Actor,
  type ChatMessage,
  type ConnectionQuality,
  type Question,
  type RecordingInfo,
  type ErrorCode,
  type LeaveReason,
  type MediaKind,
  type MediaSource,
  type ParticipantInfo,
  type Permission,
  type RequestName,
  type RequestPayload,
  type RequestResult,
  type Role,
  type RoomKind,
  type Site,
  type SiteLevel,
} from '../../signaling/protocol/types/index.js';
