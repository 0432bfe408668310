/**
 * The internal link between a broadcast's origin node (the room's owner: presenters, stage, Q&A,
 * moderation) and an edge node that hosts some of its viewers. Only cluster nodes speak it: the edge
 * connects to the origin's `/edge` Socket.IO namespace with a short-lived token signed with the
 * cluster's shared key for a distinct audience (`<JWT_AUDIENCE>:edge`) and role `edge`, which no
 * client token can pass for and which passes for no client token. Every message is validated on
 * arrival (../schemas/edgeLink.ts) like any signaling message.
 *
 * Over one link (one per room and edge): one PipeTransport pair (SRTP and RTX on), producers piped on
 * demand, their pause/resume/close relayed; each edge viewer's non-media requests forwarded to the
 * origin, which answers them as it would its own viewer's, and the notifications the origin sends
 * that viewer relayed back.
 */
import type { Ack } from './errors.js';
import type { MediaKind, MediaSource } from './domain.js';
import type { LeaveReason, NotificationName } from './notifications.js';
import type { RequestName, WireRtpParameters } from './requests.js';

/** The claims of an edge's link token; `aud` is `<JWT_AUDIENCE>:edge`. */
export interface EdgeLinkClaims {
  /** The edge node's id. */
  sub: string;
  role: 'edge';
  /** The one room this link is for. */
  room: string;
}

/** Seconds an edge's link token lives: enough to connect, never enough to be worth stealing. */
export const EDGE_LINK_TOKEN_SECONDS = 60;

export const SRTP_CRYPTO_SUITES = ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;
export type SrtpCryptoSuite = (typeof SRTP_CRYPTO_SUITES)[number];

/** One side of the pipe: where its PipeTransport listens, and its SRTP key. */
export interface PipeEndpoint {
  ip: string;
  port: number;
  srtpParameters: { cryptoSuite: SrtpCryptoSuite; keyBase64: string };
}

/** A producer of the origin, as piped to an edge: the edge produces it under the same id. */
export interface PipedProducer {
  producerId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: WireRtpParameters;
  paused: boolean;
}

/** Requests an edge makes of the origin, each answered with an Ack. */
export interface EdgeLinkRequests {
  /** The edge's PipeTransport; answered with the origin's, already connected to it. */
  openPipe: PipeEndpoint;
  /** Pipe this producer to the edge (at most once per link). */
  pipeProducer: { producerId: string };
  /** A viewer arrived on the edge: the origin takes it as its own (the token is verified again there). */
  viewerOpen: { viewerId: string; token: string };
  /** One of the viewer's requests that the origin answers (join, Q&A, hands, chat history, leave…). */
  viewerRequest: { viewerId: string; name: RequestName; payload: unknown };
  /** The viewer's connection to the edge ended. */
  viewerClose: { viewerId: string };
  /**
   * A viewer on stage published on the edge: the edge pipes it to the origin (the same pipe pair, the
   * other way), where it is published as that viewer's, by the room's rules, under the same id.
   */
  stageProduce: {
    viewerId: string;
    producerId: string;
    kind: MediaKind;
    source: MediaSource;
    rtpParameters: WireRtpParameters;
    paused: boolean;
  };
}

export interface EdgeLinkResponses {
  openPipe: PipeEndpoint;
  pipeProducer: PipedProducer;
  viewerOpen: Record<string, never>;
  /** The origin's answer to the viewer's request, passed on to the viewer as it is. */
  viewerRequest: Ack<unknown>;
  viewerClose: Record<string, never>;
  stageProduce: { producerId: string };
}

export type EdgeLinkRequestName = keyof EdgeLinkRequests;

/** What the origin tells the edge. */
export interface EdgeLinkNotifications {
  /** A notification for these viewers (one message for many when the origin tells them all the same). */
  viewerNotify: { viewerIds: string[]; name: NotificationName; payload: unknown };
  /** The origin ended this viewer's session (removed, room ended, replaced…). */
  viewerEnd: { viewerId: string; reason: LeaveReason; message: string };
  /** A piped producer was paused, resumed or closed on the origin (or a stage producer closed there). */
  producerState: { producerId: string; state: 'paused' | 'resumed' | 'closed' };
}

export type EdgeToOriginEvents = {
  [N in EdgeLinkRequestName]: (payload: EdgeLinkRequests[N], ack: (response: Ack<EdgeLinkResponses[N]>) => void) => void;
};

export type OriginToEdgeEvents = {
  [N in keyof EdgeLinkNotifications]: (payload: EdgeLinkNotifications[N]) => void;
};
