/**
 * The public SDK object's types: what `ConsultationClient.join()` takes and the events a client
 * emits — the contract a clinic's page codes against, kept apart from the behaviour behind it.
 */
import type { types } from 'mediasoup-client';
import type {
  Actor,
  ChatMessage,
  ConnectionQuality,
  ErrorCode,
  LeaveReason,
  MediaSource,
  ParticipantInfo,
  Permission,
} from '../../signaling/protocol/types/index.js';
import type { DeviceLoss } from './DeviceWatch.js';
import type { NetworkOptions } from './MediaTransports.js';
import type { ConnectionState, ReconnectPolicy } from './reconnect.js';
import type { RemoteTrack } from './RemoteTracks.js';

export interface JoinOptions extends NetworkOptions {
  /**
   * The media server's base URL, e.g. https://consult.example-hospital.cn — in a cluster, the entry
   * (a load balancer or any node): the SDK is sent on to the node serving the room, and comes back
   * here to join again if that node goes away.
   */
  url: string;
  /** Access token issued by the hospital system for this person and room. */
  token: string;
  /**
   * A fresh token when the server refuses the current one as expired while reconnecting or joining
   * again (e.g. after a long outage). Without it, an expired token ends the session.
   */
  getToken?: () => Promise<string>;
  /** The room you expect to enter; the server refuses if the token names another one. */
  roomId?: string;
  /** Called when the room is locked and you wait in its lobby; `join()` resolves once admitted. */
  onWaiting?: (self: ParticipantInfo) => void;
  reconnectPolicy?: ReconnectPolicy;
  /**
   * Aborting it while waiting in the lobby leaves the lobby cleanly (the moderators' list updates)
   * and `join()` rejects with an AbortError. It has no effect once joined: use `leave()` then.
   */
  signal?: AbortSignal;
  /** Override mediasoup-client's browser detection (rarely needed). */
  handlerName?: types.BuiltinHandlerName;
}

export type ReceiveQuality = 'low' | 'medium' | 'high';
export type ModeratedSource = 'microphone' | 'camera';

export interface ClientEvents {
  participantJoined: [participant: ParticipantInfo];
  participantLeft: [participant: ParticipantInfo, reason: LeaveReason];
  /** Another participant's connection dropped ('reconnecting') or came back ('connected'). */
  participantConnection: [participant: ParticipantInfo, state: 'reconnecting' | 'connected'];
  trackAdded: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  trackPaused: [track: RemoteTrack];
  trackResumed: [track: RemoteTrack];
  /** Who speaks now (null: nobody); at join, `client.activeSpeaker` says who already was. */
  activeSpeaker: [participant: ParticipantInfo | null];
  /**
   * The browser refused to play remote sound (autoplay policy: no user gesture yet). Show "click to
   * enable sound" and call `startAudio()` from that click. Concerns tracks played with `attachAudio`.
   */
  audioPlaybackBlocked: [];
  /** After `audioPlaybackBlocked`, `startAudio()` got every remote audio element playing. */
  audioPlaybackStarted: [];
  /**
   * How a participant's line (yours included) is doing, graded by the server from their streams'
   * statistics: show it on their tile (not by colour alone) so a frozen image has a reason.
   */
  connectionQualityChanged: [
    participant: ParticipantInfo,
    quality: ConnectionQuality,
    detail: { rttMs: number | null; lossPercent: number | null },
  ];
  connectionStateChanged: [state: ConnectionState];
  roomLocked: [locked: boolean, by: Actor | null];
  /** Moderators: who waits in the lobby now. */
  lobbyChanged: [waiting: ParticipantInfo[]];
  /** A moderator muted your microphone or camera; you cannot unmute until `unmuteAllowed`. */
  mutedByModerator: [source: ModeratedSource, by: Actor];
  unmuteAllowed: [source: ModeratedSource, by: Actor];
  /** The server closed one of your own tracks (e.g. a moderator stopped your screen share). */
  unpublished: [source: MediaSource, by: Actor];
  handRaised: [participant: ParticipantInfo, raised: boolean];
  chatMessage: [message: ChatMessage];
  /** Your permissions changed (brought on stage / sent back): publish or stop accordingly. */
  permissionsChanged: [permissions: Permission[]];
  /**
   * The session ended: left, removed, declined, replaced, room ended, or the connection could not be
   * restored ('connection_lost'; `code` is set when the server refused to take the participant back,
   * e.g. FORBIDDEN: removed meanwhile; WRONG_STATE: the consultation was ended).
   */
  disconnected: [info: { reason: LeaveReason | 'connection_lost'; message: string; code?: ErrorCode }];
  /**
   * The access token expires soon (60 s ahead, or at once if less is left). The session does not end
   * then, but a reconnect after it would be refused: get a fresh token for the same person and room
   * from the hospital system and pass it to `updateToken()`.
   */
  tokenExpiring: [expiresAt: Date];
  /**
   * Your camera or microphone went away during the call (unplugged, or the browser ended it): the SDK
   * switched to `fallback` (another device of that kind, or the same one if it came back) without
   * unpublishing, or stopped that source (`fallback` null). Tell the person.
   */
  deviceLost: [loss: DeviceLoss];
  /**
   * A participant turned their microphone or camera off (`muted`) or on again — by themselves or by a
   * moderator (the muted person hears who in `mutedByModerator`). Show it on their tile in words.
   */
  participantMuted: [participant: ParticipantInfo, source: 'microphone' | 'camera', muted: boolean];
  /**
   * Received sound levels (0–1) by participant id, about twice a second, only while someone listens
   * to this event: for level meters next to the tiles.
   */
  audioLevels: [levels: Record<string, number>];
  /** A background operation failed (e.g. receiving one track); the session goes on. */
  error: [error: Error];
}
