/**
 * The signaling protocol, both layers: ./types/ (plain types and constants, no runtime dependency;
 * what the browser SDK imports) and ./schemas/ (zod validators; server only).
 */
export * from './types/index.js';
export * from './schemas/index.js';
// Names that are both a type (types layer) and a validator (schema layer): the schema layer's export
// carries both meanings, and the type is the very same one.
export {
  AccessClaims,
  AdminClaims,
  ChatMessage,
  EdgeLinkClaims,
  MediaKind,
  MediaSource,
  PipeEndpoint,
  PipedProducer,
  ProgrammeDetails,
  ParticipantInfo,
  ProducerInfo,
  QuestionStatus,
  RecordingAccessClaims,
  Role,
  RoomKind,
  Site,
  SiteLevel,
} from './schemas/index.js';
