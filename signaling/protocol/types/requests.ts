/**
 * Client → server requests: each Socket.IO event name, the type of its payload and the type of the
 * data acknowledged on success. The SDK's typed `request()` is derived from these maps; the server
 * validates every payload with ../schemas/requests.ts, which is checked against them at compile time.
 */
import type {
  DtlsParameters as MsDtlsParameters,
  IceCandidate,
  IceParameters,
  RtpCapabilities as MsRtpCapabilities,
  RtpParameters as MsRtpParameters,
  SctpParameters,
} from 'mediasoup-client/types';
import type {
  ChatMessage,
  MediaKind,
  MediaSource,
  ParticipantInfo,
  ProducerInfo,
  Question,
  QuestionStatus,
  RoomKind,
  Site,
} from './domain.js';
import type { IngestGrant, IngestInfo, IngestProtocol } from './ingest.js';
import type { Actor, LineQualityReport } from './notifications.js';
import type { Permission } from './permissions.js';
import type { PreflightAnswer, PreflightRequest } from './preflight.js';

/**
 * Outlines of mediasoup's RTP and DTLS structures as the signaling edge checks them (mediasoup checks
 * them in depth): fields the edge bounds, anything else passes through. No string in them may hold a
 * control character; MIDs, RIDs and header extension URIs are printable ASCII without spaces.
 */
/**
 * Codec (SDP fmtp) parameters: names of letters, digits, `.`, `_`, `-`; values numbers or text without
 * `;` or control characters (the edge refuses anything else). Typed as loosely as mediasoup-client
 * types them, so a device's capabilities and parameters pass as they are.
 */
export type WireCodecParameters = Record<string, unknown>;
export interface WireRtcpFeedback {
  type: string;
  parameter?: string | undefined;
  [key: string]: unknown;
}
export interface WireRtpCodec {
  /** `audio/<codec>` or `video/<codec>`. */
  mimeType: string;
  clockRate: number;
  payloadType?: number | undefined;
  channels?: number | undefined;
  parameters?: WireCodecParameters | undefined;
  rtcpFeedback?: WireRtcpFeedback[] | undefined;
  [key: string]: unknown;
}
export interface WireRtpHeaderExtension {
  uri: string;
  parameters?: WireCodecParameters | undefined;
  [key: string]: unknown;
}
export interface WireRtpHeaderExtensionParameters extends WireRtpHeaderExtension {
  id: number;
}
export interface WireRtpCapabilities {
  codecs?: WireRtpCodec[] | undefined;
  headerExtensions?: WireRtpHeaderExtension[] | undefined;
  [key: string]: unknown;
}
export interface WireRtpParametersCodec extends WireRtpCodec {
  payloadType: number;
}
export interface WireRtpParameters {
  mid?: string | undefined;
  codecs: WireRtpParametersCodec[];
  headerExtensions?: WireRtpHeaderExtensionParameters[] | undefined;
  encodings?: { rid?: string | undefined; scalabilityMode?: string | undefined; [key: string]: unknown }[] | undefined;
  rtcp?: { cname?: string | undefined; [key: string]: unknown } | undefined;
  [key: string]: unknown;
}
export const DTLS_FINGERPRINT_ALGORITHMS = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'] as const;
export interface WireDtlsParameters {
  role?: 'auto' | 'client' | 'server' | undefined;
  fingerprints: { algorithm: (typeof DTLS_FINGERPRINT_ALGORITHMS)[number]; value: string }[];
}

/** Most chat messages one `chatHistory` page carries. */
export const CHAT_PAGE_MAX = 100;

/**
 * At most this many tracks made ahead for a pre-join screen (`prepareReceive`): a consultation's
 * cameras, microphones and a shared screen; a larger room's further tracks are made at the join.
 */
export const PREPARED_TRACKS_MAX = 32;

/** A request that carries no fields (the server refuses any). */
export type EmptyPayload = Record<string, never>;
type ModeratedSource = 'microphone' | 'camera';

/**
 * Each request's payload, keyed by its Socket.IO event name. The server validates every payload
 * with ../schemas/requests.ts, whose schemas are checked against this map at compile time.
 */
export interface RequestPayloads {
  getRouterRtpCapabilities: EmptyPayload;
  join: {
    rtpCapabilities: WireRtpCapabilities;
    /** Optional: the room the client means to enter; refused if the token is for another room. */
    roomId?: string | undefined;
    /**
     * Optional: open the receive transport and consume what the room already sends within the join
     * (answered in `JoinResponse.receive`), instead of one round trip for the transport and one per
     * track after it — the first picture's critical path.
     */
    receive?:
      | {
          forceTcp?: boolean | undefined;
          /** The transport `prepareReceive` made on this connection: the join's consumers are made on it. */
          transportId?: string | undefined;
          /**
           * The tracks `prepareReceive` gave that the client has wired on that transport (consumer
           * ids): the join resumes them at once (`JoinReceive.resumed`) — no offer/answer and no
           * `resumeConsumer` left between the answer and the first picture.
           */
          wired?: string[] | undefined;
        }
      | undefined;
  };
  /**
   * Before joining (a pre-join screen): a receive transport on the room's router, so that ICE and DTLS
   * are done before `join` — whose consumers are then made on it (`receive.transportId`). Answered with
   * no transport when the room is not open on this server yet or places its audience only at the join
   * (a broadcast); refused as the join would be (the token's role, case or room kind; someone removed).
   * One per connection; closed if no join takes it within a few minutes.
   *
   * With the device's `rtpCapabilities`, and when this person would be let in at once (not parked in
   * the lobby of a locked room), the answer also carries a paused consumer per track the room sends
   * (`tracks`: media only, not whose — that comes with the join), for the client to wire ahead and
   * name in `join.receive.wired`. Nothing flows on them before the join.
   */
  prepareReceive: { forceTcp?: boolean | undefined; rtpCapabilities?: WireRtpCapabilities | undefined };
  /** The DTLS parameters of the transport `prepareReceive` made (the `connectTransport` of the pre-join screen). */
  connectPrepared: { transportId: string; dtlsParameters: WireDtlsParameters };
  createTransport: { direction: 'send' | 'recv'; forceTcp?: boolean | undefined };
  connectTransport: { transportId: string; dtlsParameters: WireDtlsParameters };
  restartIce: { transportId: string };
  /** Closes one of one's own transports, and with it everything sent or received on it. */
  closeTransport: { transportId: string };
  produce: {
    transportId: string;
    kind: MediaKind;
    source: MediaSource;
    rtpParameters: WireRtpParameters;
    paused?: boolean | undefined;
  };
  closeProducer: { producerId: string };
  pauseProducer: { producerId: string };
  resumeProducer: { producerId: string };
  consume: { producerId: string; transportId: string };
  resumeConsumer: { consumerId: string };
  pauseConsumer: { consumerId: string };
  /** Layers 0-3. */
  setPreferredLayers: { consumerId: string; spatialLayer: number; temporalLayer?: number | undefined };
  leave: EmptyPayload;
  /** Resume this participant on a new socket after a signaling drop (within the grace period). */
  resume: { participantId: string; resumeToken: string };
  // Moderation (permission `moderate`, except where noted).
  setRoomLocked: { locked: boolean };
  admit: { participantId: string };
  decline: { participantId: string };
  muteParticipant: { participantId: string; source: ModeratedSource };
  allowUnmute: { participantId: string; source: ModeratedSource };
  stopScreenShare: { participantId: string };
  removeParticipant: { participantId: string };
  /** Permission `end_room`. */
  endRoom: EmptyPayload;
  /** Your own hand (permission `raise_hand`); a moderator may lower someone else's. */
  setHandRaised: { raised: boolean; participantId?: string | undefined };
  /** At most CHAT_MAX_LENGTH characters, not blank. */
  sendChat: { text: string };
  /**
   * Anyone in the room: older chat messages than the join answer carries. `before`: the id of the
   * oldest message the client has (absent: the latest); `limit`: 1 to CHAT_PAGE_MAX (default 50).
   */
  chatHistory: { before?: string | undefined; limit?: number | undefined };
  // Broadcast and training audiences.
  /** Permission `ask_question`; at most QUESTION_MAX_LENGTH characters, not blank. */
  askQuestion: { text: string };
  /** Permission `manage_questions`: approve (show to all), hide, or mark answered. */
  updateQuestion: { questionId: string; status: Exclude<QuestionStatus, 'pending'> };
  /** Permission `moderate`: give a viewer/trainee the floor (temporary publish grant) or take it back. */
  setOnStage: { participantId: string; onStage: boolean };
  /** Permission `moderate`: HLS output of the presenters for audiences beyond WebRTC. */
  startHls: EmptyPayload;
  stopHls: EmptyPayload;
  // Recording into the case record.
  /** Permission `record`. Everyone in the room (and every later joiner) is told. */
  startRecording: EmptyPayload;
  stopRecording: EmptyPayload;
  /** Anyone: "I have been told this consultation is recorded" (informed consent, into the audit trail). */
  acknowledgeRecording: { sessionId: string };
  /** The pre-call check, before joining (states none and waiting): see ./preflight.ts. */
  preflight: PreflightRequest;
  // Encoders (WHIP, RTMP) publishing into a broadcast or training room: permission `moderate`.
  /** `site`: the presenter's site as shown (default: the moderator's); `ttlSeconds`: the token's life. */
  createIngest: { protocol: IngestProtocol; name: string; site?: Site | undefined; ttlSeconds?: number | undefined };
  listIngests: EmptyPayload;
  /** The token stops working at once and a running programme ends. */
  revokeIngest: { ingestId: string };
}

export type RequestName = keyof RequestPayloads;
export type RequestPayload<N extends RequestName> = RequestPayloads[N];

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
  /**
   * The latest grade of every line graded so far that you see (yours too). Grades are pushed
   * (`connectionQuality`) only when they change: without these a late joiner would not know who is
   * already on a poor line.
   */
  lineQuality: LineQualityReport[];
  /** Sources a moderator has muted and not yet allowed to unmute. */
  mutedByModerator: ('microphone' | 'camera')[];
  /** The latest chat messages (not the whole history), oldest first. */
  chat: ChatMessage[];
  /** Older chat messages are kept than `chat` holds: page them with `chatHistory`. */
  chatHasMore: boolean;
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

/**
 * A recording in progress. `startedBy` is null when the server started it by itself: by policy for
 * this kind of room, or because it `continues` the recording of this consultation that was running
 * when the room moved to another server (the earlier part's session id): the same consultation,
 * recorded on, in a new part everyone is told about again.
 */
export interface RecordingInfo {
  sessionId: string;
  startedAt: string;
  startedBy: Actor | null;
  continues: string | null;
}

/**
 * What a join asked to `receive` got: the receive transport and a consumer (paused until the client
 * has wired it and sends `resumeConsumer`) per track the room already sends. A track the server could
 * not consume for this client is simply absent: the client subscribes to it the usual way.
 */
export interface JoinReceive {
  transport: TransportOptions;
  consumers: ConsumeResult[];
  /** Of `consumers`, those the client wired before the join (`receive.wired`): resumed already. */
  resumed?: string[] | undefined;
}

/** A track made ahead for a pre-join screen (`prepareReceive`): a paused consumer, the media only. */
export interface PreparedTrack {
  id: string;
  producerId: string;
  kind: MediaKind;
  rtpParameters: MsRtpParameters;
}

/** `join` either enters the room or waits in the lobby of a locked room until admitted. */
export type JoinResponse = ({ status: 'joined'; receive?: JoinReceive } & JoinResult) | { status: 'waiting'; self: ParticipantInfo };

export interface ConsumeResult {
  id: string;
  producerId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: MsRtpParameters;
  producerPaused: boolean;
}

type Nothing = Record<string, never>;

export interface ResponseMap {
  getRouterRtpCapabilities: { rtpCapabilities: MsRtpCapabilities };
  join: JoinResponse;
  prepareReceive: { transport: TransportOptions | null; tracks?: PreparedTrack[] | undefined };
  connectPrepared: Nothing;
  createTransport: TransportOptions;
  connectTransport: Nothing;
  restartIce: { iceParameters: IceParameters };
  closeTransport: Nothing;
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
  /** Oldest first; `hasMore`: still older messages are kept. */
  chatHistory: { messages: ChatMessage[]; hasMore: boolean };
  askQuestion: { question: Question };
  updateQuestion: { question: Question };
  setOnStage: Nothing;
  startHls: { url: string };
  stopHls: Nothing;
  startRecording: RecordingInfo;
  stopRecording: Nothing;
  acknowledgeRecording: Nothing;
  /** The answer to the request's `step` (PreflightAnswers[step]). */
  preflight: PreflightAnswer;
  createIngest: IngestGrant;
  listIngests: { ingests: IngestInfo[] };
  revokeIngest: Nothing;
}
export type RequestResult<N extends RequestName> = ResponseMap[N];
