/**
 * Server → client notifications. Names and payload types live here so the SDK's typed events and
 * the server's emitters agree at compile time.
 *
 * Order: a `join`'s answer is the room as it stood when the answer was made, and comes before any
 * notification of the room's changes; what happened while the join was being answered (a camera
 * published, someone come) follows the answer, and may repeat what the answer already says — apply
 * notifications idempotently (a producer already known is not received twice, and so on).
 */
import type { ChatMessage, MediaSource, ParticipantInfo, ProducerInfo, Question } from './domain.js';
import type { Permission } from './permissions.js';
import type { IngestInfo } from './ingest.js';
import type { RtpCapabilities as MsRtpCapabilities } from 'mediasoup-client/types';
import type { JoinResult, RecordingInfo } from './requests.js';

/**
 * Why a session ended. `room_moved`: the room goes on on another node of the cluster (this node is
 * draining or gave the room up); the SDK joins again through its entry URL by itself.
 */
export type LeaveReason =
  'left' | 'disconnected' | 'replaced' | 'removed' | 'declined' | 'room_ended' | 'room_closed' | 'off_stage' | 'room_moved';

/** A line graded for people: good (≤ 150 ms, ≤ 2 % loss), fair (≤ 400 ms, ≤ 8 %), poor; unknown before any report. */
export type ConnectionQuality = 'good' | 'fair' | 'poor' | 'unknown';

/** The server's latest grade of one participant's line, with the worst round trip and loss it saw. */
export interface LineQualityReport {
  participantId: string;
  quality: ConnectionQuality;
  rttMs: number | null;
  lossPercent: number | null;
}

/** Who did it, as shown to the others. */
export interface Actor {
  participantId: string;
  displayName: string;
}

export interface NotificationMap {
  /**
   * Sent once on every connection, right after it is accepted: what the node's routers can send and
   * receive, so the client loads its media device without asking (`getRouterRtpCapabilities`, still
   * answered, costs a round trip more).
   */
  routerCapabilities: { rtpCapabilities: MsRtpCapabilities };
  participantJoined: { participant: ParticipantInfo };
  participantLeft: { participantId: string; reason: LeaveReason };
  producerAdded: { producer: ProducerInfo };
  producerClosed: { producerId: string; participantId: string };
  producerPaused: { producerId: string; participantId: string };
  producerResumed: { producerId: string; participantId: string };
  consumerClosed: { consumerId: string; producerId: string };
  consumerLayersChanged: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
  activeSpeaker: { participantId: string | null };
  /**
   * How a participant's line is doing, from the server's statistics of their streams (round trip and
   * loss from RTCP, mediasoup's stream score), sent when the grade changes.
   */
  connectionQuality: LineQualityReport;
  /** Sent to a participant whose session ends for a reason other than its own leave. */
  sessionEnded: { reason: LeaveReason; message: string };
  roomLocked: { locked: boolean; by: Actor };
  /** To moderators: who waits in the lobby now. */
  lobbyChanged: { waiting: ParticipantInfo[] };
  /** To a waiting participant: you are in. */
  admitted: JoinResult;
  /** To the participant: a moderator muted (or allowed unmuting) one of your sources. */
  mutedByModerator: { source: 'microphone' | 'camera'; by: Actor };
  unmuteAllowed: { source: 'microphone' | 'camera'; by: Actor };
  /** To the owner: one of your own producers was closed by the server (e.g. screen share stopped). */
  ownProducerClosed: { producerId: string; source: MediaSource; by: Actor };
  handRaised: { participantId: string; raised: boolean };
  chatMessage: { message: ChatMessage };
  /** Another participant's signaling dropped (they may come back within the grace period) or came back. */
  participantConnection: { participantId: string; state: 'reconnecting' | 'connected' };
  /** Throttled (at most once a second), only when it changed. */
  viewerCount: { count: number };
  /** A question was asked or changed status (others than managers only see approved/answered ones, and hides). */
  questionUpdated: { question: Question };
  /** Someone was brought on stage or sent back (everyone). */
  stageChanged: { participantId: string; onStage: boolean; by: Actor };
  /** Your own permissions changed (stage grant given or taken back). */
  permissionsChanged: { permissions: Permission[] };
  hlsChanged: { url: string | null };
  /** To everyone: the consultation is now being recorded. Acknowledge with `acknowledgeRecording`. */
  recordingStarted: { recording: RecordingInfo };
  /** To everyone: recording stopped (`by` null: the server stopped it, e.g. shutdown or failure). */
  recordingStopped: { sessionId: string; by: Actor | null };
  /** To moderators: part of the recording failed (a recorder died, the disk filled). */
  recordingError: { sessionId: string; message: string };
  /**
   * To moderators: this consultation's record cannot be written on this server right now.
   * `part: 'trail'`: its audit trail could not be written; until it can, the room admits no one and
   * refuses whatever would go unrecorded (chat, questions, publishing…); `recordRestored` follows.
   * `part: 'recording'`: a recording was not started (the server's data disk is nearly full).
   */
  recordUnavailable: { part: 'trail' | 'recording'; message: string };
  /** To moderators: the audit trail is written again (what it could not hold meanwhile is noted in it). */
  recordRestored: { message: string };
  /** To moderators: an encoder's ingest changed state, or its health was measured again (every few seconds while live). */
  ingestUpdated: { ingest: IngestInfo };
}
export type NotificationName = keyof NotificationMap;
