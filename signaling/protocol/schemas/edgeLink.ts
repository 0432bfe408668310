/**
 * Validators for the origin ↔ edge link (server only): every message either node receives over it
 * passes one of these before anything is done with it, like any client's request. Types in
 * ../types/edgeLink.ts, checked at compile time to match.
 */
import { z } from 'zod';
import { MEDIA_KINDS, MEDIA_SOURCES } from '../types/domain.js';
import type * as T from '../types/edgeLink.js';
import { SRTP_CRYPTO_SUITES } from '../types/edgeLink.js';
import { ERROR_CODES, type ErrorCode } from '../types/errors.js';
import type { LeaveReason, NotificationName } from '../types/notifications.js';
import type { RequestName } from '../types/requests.js';
import type { Assert, Equals, Matches } from './check.js';
import { Identifier, RoomId } from './domain.js';
import { REQUEST_NAMES, WireRtpParametersSchema } from './requests.js';

const Id = z.string().min(1).max(64);

export const EdgeLinkClaims = z.object({ sub: Identifier, role: z.literal('edge'), room: RoomId });
export type EdgeLinkClaims = T.EdgeLinkClaims;

export const PipeEndpoint = z
  .object({
    ip: z.union([z.ipv4(), z.ipv6()]),
    port: z.number().int().min(1).max(65535),
    srtpParameters: z.object({ cryptoSuite: z.enum(SRTP_CRYPTO_SUITES), keyBase64: z.base64().max(128) }).strict(),
  })
  .strict();
export type PipeEndpoint = T.PipeEndpoint;

export const PipedProducer = z
  .object({
    producerId: Id,
    participantId: Id,
    kind: z.enum(MEDIA_KINDS),
    source: z.enum(MEDIA_SOURCES),
    rtpParameters: WireRtpParametersSchema,
    paused: z.boolean(),
  })
  .strict();
export type PipedProducer = T.PipedProducer;

const RequestNameSchema = z.enum(REQUEST_NAMES as [RequestName, ...RequestName[]]);

export const EdgeLinkRequestSchemas = {
  openPipe: PipeEndpoint,
  pipeProducer: z.object({ producerId: Id }).strict(),
  viewerOpen: z.object({ viewerId: Id, token: z.string().min(1).max(8192) }).strict(),
  viewerRequest: z.object({ viewerId: Id, name: RequestNameSchema, payload: z.unknown() }).strict(),
  viewerClose: z.object({ viewerId: Id }).strict(),
  stageProduce: z
    .object({
      viewerId: Id,
      producerId: Id,
      kind: z.enum(MEDIA_KINDS),
      source: z.enum(MEDIA_SOURCES),
      rtpParameters: WireRtpParametersSchema,
      paused: z.boolean(),
    })
    .strict(),
} as const;

const NOTIFICATION_NAMES = [
  'participantJoined',
  'participantLeft',
  'producerAdded',
  'producerClosed',
  'producerPaused',
  'producerResumed',
  'consumerClosed',
  'consumerLayersChanged',
  'activeSpeaker',
  'sessionEnded',
  'roomLocked',
  'lobbyChanged',
  'admitted',
  'mutedByModerator',
  'unmuteAllowed',
  'ownProducerClosed',
  'handRaised',
  'chatMessage',
  'participantConnection',
  'viewerCount',
  'questionUpdated',
  'stageChanged',
  'permissionsChanged',
  'hlsChanged',
  'recordingStarted',
  'recordingStopped',
  'recordingError',
  'recordUnavailable',
  'recordRestored',
  'connectionQuality',
  'ingestUpdated',
  'routerCapabilities',
] as const satisfies readonly NotificationName[];

const LEAVE_REASONS = [
  'left',
  'disconnected',
  'replaced',
  'removed',
  'declined',
  'room_ended',
  'room_closed',
  'off_stage',
  'room_moved',
] as const satisfies readonly LeaveReason[];

export const EdgeLinkNotificationSchemas = {
  viewerNotify: z
    .object({ viewerIds: z.array(Id).min(1).max(100_000), name: z.enum(NOTIFICATION_NAMES), payload: z.record(z.string(), z.unknown()) })
    .strict(),
  viewerEnd: z.object({ viewerId: Id, reason: z.enum(LEAVE_REASONS), message: z.string().max(2000) }).strict(),
  producerState: z.object({ producerId: Id, state: z.enum(['paused', 'resumed', 'closed']) }).strict(),
} as const;

const WireErrorSchema = z
  .object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    status: z.number().int(),
    message: z.string().max(4000),
    details: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** The outline of any answer over the link; what `data` holds is checked by the one who asked. */
export const LinkAck = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), error: WireErrorSchema }).strict(),
]);

/** What the origin answers, per request: checked by the edge before it uses an answer. */
export const EdgeLinkResponseSchemas = {
  openPipe: PipeEndpoint,
  pipeProducer: PipedProducer,
  viewerOpen: z.object({}).strict(),
  viewerRequest: LinkAck,
  viewerClose: z.object({}).strict(),
  stageProduce: z.object({ producerId: Id }).strict(),
} as const;

type _Checks = [
  Assert<Equals<keyof typeof EdgeLinkResponseSchemas, T.EdgeLinkRequestName>>,
  Assert<Matches<(typeof EdgeLinkResponseSchemas)['stageProduce'], T.EdgeLinkResponses['stageProduce']>>,
  Assert<Matches<typeof EdgeLinkClaims, T.EdgeLinkClaims>>,
  Assert<Matches<typeof PipeEndpoint, T.PipeEndpoint>>,
  Assert<Matches<typeof PipedProducer, T.PipedProducer>>,
  Assert<Equals<keyof typeof EdgeLinkRequestSchemas, T.EdgeLinkRequestName>>,
  Assert<Matches<(typeof EdgeLinkRequestSchemas)['pipeProducer'], T.EdgeLinkRequests['pipeProducer']>>,
  Assert<Matches<(typeof EdgeLinkRequestSchemas)['viewerOpen'], T.EdgeLinkRequests['viewerOpen']>>,
  Assert<Matches<(typeof EdgeLinkRequestSchemas)['viewerClose'], T.EdgeLinkRequests['viewerClose']>>,
  Assert<Matches<(typeof EdgeLinkRequestSchemas)['stageProduce'], T.EdgeLinkRequests['stageProduce']>>,
  Assert<Equals<z.output<(typeof EdgeLinkRequestSchemas)['viewerRequest']>['name'], RequestName>>,
  Assert<Equals<(typeof NOTIFICATION_NAMES)[number], NotificationName>>,
  Assert<Equals<(typeof LEAVE_REASONS)[number], LeaveReason>>,
  Assert<Matches<(typeof EdgeLinkNotificationSchemas)['viewerEnd'], T.EdgeLinkNotifications['viewerEnd']>>,
  Assert<Matches<(typeof EdgeLinkNotificationSchemas)['producerState'], T.EdgeLinkNotifications['producerState']>>,
];
