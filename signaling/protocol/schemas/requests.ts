/**
 * Validators for client → server requests (server only): the schema each request's payload must
 * pass, keyed by Socket.IO event name. The payload types are in ../types/requests.ts; every schema is
 * checked at compile time to accept and produce exactly its request's payload type, and the map to
 * have exactly the request names of the types layer.
 */
import { z } from 'zod';
import { CHAT_MAX_LENGTH, MEDIA_KINDS, MEDIA_SOURCES, QUESTION_MAX_LENGTH } from '../types/domain.js';
import { PREFLIGHT_PATHS } from '../types/preflight.js';
import { IngestRequest } from './ingest.js';
import {
  CHAT_PAGE_MAX,
  PREPARED_TRACKS_MAX,
  DTLS_FINGERPRINT_ALGORITHMS,
  type RequestName,
  type RequestPayloads,
} from '../types/requests.js';
import type { Assert, Equals, Matches } from './check.js';

/**
 * mediasoup checks RTP structures in depth; the edge checks their outline and bounds sizes, and keeps
 * control characters out of every free-form string in them. Codec names and parameters are written
 * into the SDP FFmpeg reads for recordings and HLS: a CR/LF there would end the line and start one
 * of the client's own (an extra stream on a port of its choosing). Identifiers (MID, RID, header
 * extension URIs) are tokens: printable ASCII without spaces.
 */
const NO_CONTROL = /^[^\p{Cc}\u2028\u2029]*$/u;
const TOKEN = /^[\x21-\x7E]*$/;
const text = (max: number) => z.string().max(max).regex(NO_CONTROL, 'must not contain control characters (CR, LF, NUL...)');
const token = (max: number) => z.string().max(max).regex(TOKEN, 'must be printable ASCII without spaces or control characters');
const MimeType = z
  .string()
  .max(64)
  .regex(/^(audio|video)\/[A-Za-z0-9][A-Za-z0-9._+-]*$/i, 'must be audio/<codec> or video/<codec> (letters, digits, . _ + -)');

/** Most codec (fmtp) parameters a codec may carry: Chromium's busiest codec has five. */
export const CODEC_PARAMETERS_MAX = 32;
const PARAMETER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PARAMETER_TEXT = /^[^\p{Cc}\u2028\u2029;]{0,256}$/u;
const isParameterValue = (value: unknown) =>
  (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && PARAMETER_TEXT.test(value));
/** A name as it may be shown back: printable ASCII only, bounded. */
const shown = (name: string) => JSON.stringify(name.slice(0, 64).replace(/[^\x20-\x7E]/g, '?'));
/**
 * Codec parameters, as in an SDP fmtp line (`name=value;...`): names are tokens, values numbers or
 * text without a control character or `;`. Checked by hand rather than as a keyed record so that a
 * hostile name is never echoed raw in the error's field path. Typed `unknown` like mediasoup-client's
 * own parameters (see WireCodecParameters), so a device's capabilities pass as they are.
 */
const CodecParameters = z.record(z.string(), z.unknown()).superRefine((parameters, ctx) => {
  const entries = Object.entries(parameters);
  if (entries.length > CODEC_PARAMETERS_MAX) {
    ctx.addIssue({ code: 'custom', message: `at most ${CODEC_PARAMETERS_MAX} parameters` });
    return;
  }
  for (const [name, value] of entries) {
    if (!PARAMETER_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', message: `parameter name ${shown(name)}: letters, digits, ".", "_" and "-" only (at most 64)` });
    } else if (!isParameterValue(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'must be a number, or text without control characters (CR, LF, NUL...) or ";" (at most 256 characters)',
      });
    }
  }
});
const RtcpFeedback = z.looseObject({ type: token(64), parameter: text(64).optional() });
const RtpCodec = z.looseObject({
  mimeType: MimeType,
  clockRate: z.number().int().positive(),
  payloadType: z.number().int().min(0).max(127).optional(),
  channels: z.number().int().positive().optional(),
  parameters: CodecParameters.optional(),
  rtcpFeedback: z.array(RtcpFeedback).max(16).optional(),
});
const HeaderExtension = z.looseObject({ uri: token(256), parameters: CodecParameters.optional() });
const RtpCapabilities = z.looseObject({
  codecs: z.array(RtpCodec).max(64).optional(),
  headerExtensions: z.array(HeaderExtension).max(64).optional(),
});
const RtpParameters = z.looseObject({
  mid: token(32).optional(),
  codecs: z
    .array(RtpCodec.extend({ payloadType: z.number().int().min(0).max(127) }))
    .min(1)
    .max(32),
  headerExtensions: z
    .array(HeaderExtension.extend({ id: z.number().int() }))
    .max(32)
    .optional(),
  encodings: z
    .array(z.looseObject({ rid: token(32).optional(), scalabilityMode: token(32).optional() }))
    .max(8)
    .optional(),
  rtcp: z.looseObject({ cname: text(256).optional() }).optional(),
});
const DtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.enum(DTLS_FINGERPRINT_ALGORITHMS), value: z.string().max(256) }))
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
      /** Optional: the receive transport and the room's tracks within the join answer. */
      receive: z
        .object({ forceTcp: z.boolean().optional(), transportId: Id.optional(), wired: z.array(Id).max(PREPARED_TRACKS_MAX).optional() })
        .strict()
        .optional(),
    })
    .strict(),
  prepareReceive: z.object({ forceTcp: z.boolean().optional(), rtpCapabilities: RtpCapabilities.optional() }).strict(),
  connectPrepared: z.object({ transportId: Id, dtlsParameters: DtlsParameters }).strict(),
  createTransport: z.object({ direction: z.enum(['send', 'recv']), forceTcp: z.boolean().optional() }).strict(),
  connectTransport: z.object({ transportId: Id, dtlsParameters: DtlsParameters }).strict(),
  restartIce: z.object({ transportId: Id }).strict(),
  closeTransport: z.object({ transportId: Id }).strict(),
  produce: z
    .object({
      transportId: Id,
      kind: z.enum(MEDIA_KINDS),
      source: z.enum(MEDIA_SOURCES),
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
  /** Anyone in the room: older chat messages, `limit` per page. */
  chatHistory: z.object({ before: Id.optional(), limit: z.number().int().min(1).max(CHAT_PAGE_MAX).optional() }).strict(),
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
  /** The pre-call check (see ../types/preflight.ts): one request, its step chosen by `step`. */
  preflight: z.discriminatedUnion('step', [
    z.object({ step: z.literal('ping') }).strict(),
    z.object({ step: z.literal('open'), path: z.enum(PREFLIGHT_PATHS) }).strict(),
    z.object({ step: z.literal('connect'), testId: Id, dtlsParameters: DtlsParameters }).strict(),
    z.object({ step: z.literal('produce'), testId: Id, kind: z.enum(MEDIA_KINDS), rtpParameters: RtpParameters }).strict(),
    z.object({ step: z.literal('report'), testId: Id }).strict(),
  ]),
  // Encoders (WHIP, RTMP) publishing into a broadcast or training room: permission `moderate`.
  createIngest: IngestRequest,
  listIngests: Empty,
  revokeIngest: z.object({ ingestId: Id }).strict(),
} as const;

export const REQUEST_NAMES = Object.keys(RequestSchemas) as RequestName[];

/** RTP parameters as a producer carries them (also what an origin pipes to an edge). */
export const WireRtpParametersSchema = RtpParameters;

/** The request names whose schema does not match their payload type (none, or `tsc` fails below). */
type Drifted = { [N in RequestName]: Matches<(typeof RequestSchemas)[N], RequestPayloads[N]> extends true ? never : N }[RequestName];
type _Checks = [
  /** Fails to compile, naming the request, when a schema and its payload type differ. */
  Assert<[Drifted] extends [never] ? true : Drifted>,
  /** Fails to compile when a request has a schema but no payload type, or the other way round. */
  Assert<Equals<keyof typeof RequestSchemas, RequestName>>,
];
