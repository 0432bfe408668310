/**
 * What the hospital's own systems are told about rooms as they happen (event webhooks): a room
 * started and finished, who joined and left (by role and site, under a pseudonym), tracks, recordings
 * (with the manifest's hash) and HLS output. Each event has an id that never changes across retries,
 * restarts and takeovers, so a receiver keeps one copy per id; `room.session` + `room.seq` give the
 * order within one opening of a room on one node.
 */
import type { LeaveReason, MediaKind, MediaSource, Role, RoomKind, Site } from '../../signaling/protocol/index.js';

export const ROOM_EVENT_TYPES = [
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
  'recording_started',
  'recording_finished',
  'hls_started',
  'hls_stopped',
] as const;

export type RoomEventType = (typeof ROOM_EVENT_TYPES)[number];

/**
 * A person as the events name them. No real name unless configured: `pseudonym` is the same one the
 * logs use (server/pseudonym.ts), stable for one identity across joins and rooms, so the hospital can
 * match it to its own staff and patient ids while a leaked event shows no one's name.
 */
export interface EventParticipant {
  /** This session's participant id in the room (a new one at each join). */
  id: string;
  pseudonym: string;
  role: Role;
  site: Site;
  /** Only with EVENT_WEBHOOK_INCLUDE_NAMES: the token's `sub` and display name. */
  identity?: string;
  name?: string;
}

export interface EventTrack {
  /** The mediasoup producer id (the track id the SDK shows). */
  id: string;
  kind: MediaKind;
  source: MediaSource;
}

export interface EventRecording {
  sessionId: string;
  /** The case-record entry this recording is delivered as (`rec-<sessionId>`). */
  entryId: string;
  startedAt: string;
  /** Null: started by the server (automatic recording, or a part continuing one from another node). */
  startedBy: EventParticipant | null;
  /** The earlier part's session id when the room moved here while it was being recorded. */
  continues: string | null;
}

/** How a room finished: a moderator ended it, it closed (empty, shutdown, operator), or it moved to another node. */
export type RoomFinishReason = 'ended' | 'closed' | 'moved';

/** The data each type of event carries besides the envelope. */
export interface RoomEventData {
  room_started: Record<never, never>;
  room_finished: { reason: RoomFinishReason; by: EventParticipant | null; durationSeconds: number };
  participant_joined: { participant: EventParticipant };
  participant_left: { participant: EventParticipant; reason: LeaveReason };
  track_published: { participant: EventParticipant; track: EventTrack };
  track_unpublished: { participant: EventParticipant; track: EventTrack };
  recording_started: { recording: EventRecording };
  recording_finished: {
    recording: EventRecording & {
      stoppedAt: string;
      status: 'complete' | 'interrupted';
      tracks: number;
      /** SHA-256 (hex) of manifest.json as written: the archived manifest can be checked against it. */
      manifestSha256: string | null;
    };
  };
  hls_started: { url: string; by: EventParticipant | null };
  hls_stopped: { by: EventParticipant | null };
}

export interface EventRoom {
  id: string;
  kind: RoomKind;
  caseId: string | null;
  /** One opening of the room on one node (a new one after it closed, or moved to another node). */
  session: string;
  /** 1, 2, 3… per session, counting only the events this server is configured to send. */
  seq: number;
}

/** Every event: an id, its type, when it happened, on which node, in which room; then its data. */
export type RoomEvent = {
  [K in RoomEventType]: { id: string; type: K; at: string; node: string | null; room: EventRoom } & RoomEventData[K];
}[RoomEventType];
