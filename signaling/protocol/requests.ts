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
import { MediaKind, MediaSource, type ParticipantInfo, type ProducerInfo } from './domain.js';
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
} as const;

export type RequestName = keyof typeof RequestSchemas;
export const REQUEST_NAMES = Object.keys(RequestSchemas) as RequestName[];
export type RequestPayload<N extends RequestName> = z.infer<(typeof RequestSchemas)[N]>;

export interface TransportOptions {
  id: string;
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  dtlsParameters: MsDtlsParameters;
  sctpParameters?: SctpParameters;
}

export interface JoinResult {
  self: ParticipantInfo;
  permissions: Permission[];
  participants: ParticipantInfo[];
  producers: ProducerInfo[];
  activeSpeakerId: string | null;
}

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
  join: JoinResult;
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
}
export type RequestResult<N extends RequestName> = ResponseMap[N];
