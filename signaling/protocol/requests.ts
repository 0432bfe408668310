/**
 * Client → server requests. Each entry names a Socket.IO event, the schema its payload must pass,
 * and the type of the data acknowledged on success. The server validates every payload with these
 * schemas; the SDK's typed `request()` is derived from the same map.
 */
import { z } from 'zod';
import type {
  DtlsParameters as MsDtlsParameters,
  IceCandidate,
  IceParameters,
  RtpCapabilities as MsRtpCapabilities,
  RtpParameters as MsRtpParameters,
  SctpParameters,
} from 'mediasoup-client/types';
import { CHAT_MAX_LENGTH, MediaKind, MediaSource, QUESTION_MAX_LENGTH, type ChatMessage, type ParticipantInfo, type ProducerInfo, type Question, type RoomKind } from './domain.js';
import type { Actor } from './notifications.js';
import type { Permission } from './permissions.js';

/** mediasoup checks RTP structures in depth; the edge checks their outline and bounds sizes. */
const RtpCodec = z.looseObject({
  mimeType: z.string().max(64),
  clockRate: z.number().int().positive(),
  payloadType: z.number().int().min(0).max(127).optional(),
  channels: z.number().int().positive().optional(),
});
const RtpCapabilities = z.looseObject({
  codecs: z.array(RtpCodec).max(64).optional(),
  headerExtensions: z.array(z.looseObject({ uri: z.string().max(256) })).max(64).optional(),
});
const RtpParameters = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(RtpCodec.extend({ payloadType: z.number().int().min(0).max(127) })).min(1).max(32),
  headerExtensions: z.array(z.looseObject({ uri: z.string().max(256), id: z.number().int() })).max(32).optional(),
  encodings: z.array(z.looseObject({})).max(8).optional(),
  rtcp: z.looseObject({}).optional(),
});
const DtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']), value: z.string().max(256) }))
    .min(1)
    .max(8),
});

const Id = z.string().min(1).max(64);
const Empty = z.object({}).strict();

export const RequestSchemas = {
  getRouterRtpCapabilities: Empty,
  join: z
    .object({
      rtpCapabilities: RtpCapabilities,
      /** Optional: the room the client means to enter; refused if the token is for another room. */
      roomId: z.string().max(64).optional(),
    })
    .strict(),
  createTransport: z.object({ direction: z.enum(['send', 'recv']), forceTcp: z.boolean().optional() }).strict(),
  connectTransport: z.object({ transportId: Id, dtlsParameters: DtlsParameters }).strict(),
  restartIce: z.object({ transportId: Id }).strict(),
  produce: z
    .object({
      transportId: Id,
      kind: MediaKind,
      source: MediaSource,
      rtpParameters: RtpParameters,
      paused: z.boolean().optional(),
    })
    .strict(),
  closeProducer: z.object({ producerId: Id }).strict(),
  pauseProducer: z.object({ producerId: Id }).strict(),
  resumeProducer: z.object({ producerId: Id }).strict(),
  consume: z.object({ producerId: Id, transportId: Id }).strict(),
  resumeConsumer: z.object({ consumerId: Id }).strict(),
  pauseConsumer: z.object({ consumerId: Id }).strict(),
  setPreferredLayers: z
    .object({
      consumerId: Id,
      spatialLayer: z.number().int().min(0).max(3),
      temporalLayer: z.number().int().min(0).max(3).optional(),
    })
    .strict(),
  leave: Empty,
  /** Resume this participant on a new socket after a signaling drop (within the grace period). */
  resume: z.object({ participantId: Id, resumeToken: z.string().min(16).max(128) }).strict(),
  // Moderation (permission `moderate`, except where noted).
  setRoomLocked: z.object({ locked: z.boolean() }).strict(),
  admit: z.object({ participantId: Id }).strict(),
  decline: z.object({ participantId: Id }).strict(),
  muteParticipant: z.object({ participantId: Id, source: z.enum(['microphone', 'camera']) }).strict(),
  allowUnmute: z.object({ participantId: Id, source: z.enum(['microphone', 'camera']) }).strict(),
  stopScreenShare: z.object({ participantId: Id }).strict(),
  removeParticipant: z.object({ participantId: Id }).strict(),
  /** Permission `end_room`. */
  endRoom: Empty,
  /** Your own hand (permission `raise_hand`); a moderator may lower someone else's. */
  setHandRaised: z.object({ raised: z.boolean(), participantId: Id.optional() }).strict(),
  sendChat: z.object({ text: z.string().trim().min(1).max(CHAT_MAX_LENGTH) }).strict(),
  // Broadcast and training audiences.
  /** Permission `ask_question`. */
  askQuestion: z.object({ text: z.string().trim().min(1).max(QUESTION_MAX_LENGTH) }).strict(),
  /** Permission `manage_questions`: approve (show to all), hide, or mark answered. */
  updateQuestion: z.object({ questionId: Id, status: z.enum(['approved', 'hidden', 'answered']) }).strict(),
  /** Permission `moderate`: give a viewer/trainee the floor (temporary publish grant) or take it back. */
  setOnStage: z.object({ participantId: Id, onStage: z.boolean() }).strict(),
  /** Permission `moderate`: HLS output of the presenters for audiences beyond WebRTC. */
  startHls: Empty,
  stopHls: Empty,
  // Recording into the case record.
  /** Permission `record`. Everyone in the room (and every later joiner) is told. */
  startRecording: Empty,
  stopRecording: Empty,
  /** Anyone: "I have been told this consultation is recorded" (informed consent, into the audit trail). */
  acknowledgeRecording: z.object({ sessionId: Id }).strict(),
} as const;

export type RequestName = keyof typeof RequestSchemas;
export const REQUEST_NAMES = Object.keys(RequestSchemas) as RequestName[];
export type RequestPayload<N extends RequestName> = z.infer<(typeof RequestSchemas)[N]>;

/** An ICE server (TURN) with time-limited credentials. */
export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

export interface TransportOptions {
  id: string;
  iceServers: IceServer[];
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  dtlsParameters: MsDtlsParameters;
  sctpParameters?: SctpParameters;
}

export interface JoinResult {
  room: { id: string; kind: RoomKind; caseId: string | null };
  self: ParticipantInfo;
  permissions: Permission[];
  participants: ParticipantInfo[];
  producers: ProducerInfo[];
  activeSpeakerId: string | null;
  roomLocked: boolean;
  raisedHands: string[];
  /** Sources a moderator has muted and not yet allowed to unmute. */
  mutedByModerator: ('microphone' | 'camera')[];
  chat: ChatMessage[];
  /** Q&A: approved and answered questions (moderators and presenters: all of them). */
  questions: Question[];
  /** Participants currently on stage (publishing by a moderator's grant). */
  onStage: string[];
  viewerCount: number;
  /** Playlist URL while the room is also streamed as HLS. */
  hlsUrl: string | null;
  /** The recording in progress, if any: shown to late joiners at once. */
  recording: RecordingInfo | null;
  /** Secret proving this participant on a new socket (see `resume`). */
  resumeToken: string;
  /** Seconds the server keeps this participant after a signaling drop. */
  reconnectGraceSeconds: number;
}

/** A recording in progress. `startedBy` is null when the server records this kind of room by policy. */
export interface RecordingInfo {
  sessionId: string;
  startedAt: string;
  startedBy: Actor | null;
}

/** `join` either enters the room or waits in the lobby of a locked room until admitted. */
export type JoinResponse = ({ status: 'joined' } & JoinResult) | { status: 'waiting'; self: ParticipantInfo };

export interface ConsumeResult {
  id: string;
  producerId: string;
  participantId: string;
  kind: z.infer<typeof MediaKind>;
  source: z.infer<typeof MediaSource>;
  rtpParameters: MsRtpParameters;
  producerPaused: boolean;
}

type Nothing = Record<string, never>;

export interface ResponseMap {
  getRouterRtpCapabilities: { rtpCapabilities: MsRtpCapabilities };
  join: JoinResponse;
  createTransport: TransportOptions;
  connectTransport: Nothing;
  restartIce: { iceParameters: IceParameters };
  produce: { producerId: string };
  closeProducer: Nothing;
  pauseProducer: Nothing;
  resumeProducer: Nothing;
  consume: ConsumeResult;
  resumeConsumer: Nothing;
  pauseConsumer: Nothing;
  setPreferredLayers: Nothing;
  leave: Nothing;
  resume: JoinResult;
  setRoomLocked: Nothing;
  admit: Nothing;
  decline: Nothing;
  muteParticipant: Nothing;
  allowUnmute: Nothing;
  stopScreenShare: Nothing;
  removeParticipant: Nothing;
  endRoom: Nothing;
  setHandRaised: Nothing;
  sendChat: { message: ChatMessage };
  askQuestion: { question: Question };
  updateQuestion: { question: Question };
  setOnStage: Nothing;
  startHls: { url: string };
  stopHls: Nothing;
  startRecording: RecordingInfo;
  stopRecording: Nothing;
  acknowledgeRecording: Nothing;
}
export type RequestResult<N extends RequestName> = ResponseMap[N];
