/**
 * The public SDK object. A clinic's page does:
 *
 *   const client = await ConsultationClient.join({ url, token });
 *   client.on('trackAdded', (t) => attach(t.mediaStreamTrack, t.participant));
 *   await client.publishCamera(); await client.publishMicrophone();
 *
 * It joins the room the token names (waiting in the lobby first if the room is locked), receives
 * every remote track, reports people and tracks with the name, role and site from their tokens, and
 * survives signaling drops by resuming the same participant — or, when the server serving the room
 * went away (a cluster node killed or drained), by joining again through the entry URL and
 * publishing the same tracks again (state 'moving').
 */
import type { types } from 'mediasoup-client';
import {
  ProtocolError,
  publishPermission,
  type ChatMessage,
  type ConnectionQuality,
  type ErrorCode,
  type JoinResult,
  type LeaveReason,
  type LineQualityReport,
  type MediaSource,
  type ParticipantInfo,
  type Permission,
} from '../../signaling/protocol/types/index.js';
import { Audience } from './Audience.js';
import { AudioLevels } from './AudioLevels.js';
import { AudioPlayback } from './AudioPlayback.js';
import { Moderation } from './Moderation.js';
import { Recording } from './Recording.js';
import { MediaSession, type PublishOptions, type PublishedSource } from './MediaSession.js';
import { enterRoom } from './lobby.js';
import { defaultReconnectPolicy, type ConnectionState, type ReconnectPolicy } from './reconnect.js';
import { recoverSession } from './recovery.js';
import { RemoteTracks, type RemoteTrack } from './RemoteTracks.js';
import { RoomModel } from './RoomModel.js';
import { SignalingConnection } from './SignalingConnection.js';
import { readToken, TokenClock } from './TokenClock.js';
import { JoinTimeline, type JoinTimings } from './JoinTimeline.js';
import { prepareHandler } from './DeviceLoader.js';
import { preconnect, takePreconnected } from './preconnect.js';
import { listDevices, onDevice, type DeviceList } from './Devices.js';
import { DeviceWatch } from './DeviceWatch.js';
import { preflight } from './Preflight.js';
import type { PreflightOptions, PreflightResult } from './preflightTypes.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { ClientEvents, JoinOptions, ModeratedSource, ReceiveQuality } from './clientTypes.js';

export type { RemoteTrack };
export type { ClientEvents, JoinOptions, ReceiveQuality } from './clientTypes.js';

export class ConsultationClient extends TypedEmitter<ClientEvents> {
  /** The room the token opened: id, kind (consultation, follow_up, broadcast, training) and case. */
  readonly room: JoinResult['room'];
  /** Broadcast and training: viewer count, Q&A, stage, HLS. */
  readonly audience: Audience;
  /** The chair's tools (permission `moderate`; the server checks again). */
  readonly moderation: Moderation;
  /** Recording into the case record: state, events, acknowledge; start/stop with permission `record`. */
  readonly recording: Recording;
  #permissions: Set<Permission>;
  readonly #signaling: SignalingConnection;
  readonly #media: MediaSession;
  readonly #model = new RoomModel();
  readonly #tracks: RemoteTracks;
  readonly #policy: ReconnectPolicy;
  readonly #options: JoinOptions;
  readonly #muted = new Set<ModeratedSource>();
  #self: ParticipantInfo;
  #resumeToken: string;
  #graceMs: number;
  #state: ConnectionState = 'connected';
  #waiting: ParticipantInfo[] = [];
  readonly #tokenClock = new TokenClock((expiresAt) => this.emit('tokenExpiring', expiresAt));
  readonly #timeline: JoinTimeline;
  readonly #deviceWatch = new DeviceWatch({
    switchTo: (source, deviceId) => this.#media.switchSource(source, onDevice(deviceId)),
    stop: (source) => this.unpublish(source),
    published: (source) => this.#media.producer(source) !== undefined,
    lost: (loss) => this.emit('deviceLost', loss),
    error: (error) => this.emit('error', error),
  });
  readonly #audio = new AudioPlayback({
    blocked: () => this.emit('audioPlaybackBlocked'),
    started: () => this.emit('audioPlaybackStarted'),
    error: (e) => this.emit('error', e),
  });
  #activeSpeakerId: string | null = null;
  readonly #levels = new AudioLevels({
    tracks: () => this.#tracks.list(),
    stats: async (trackId) => this.#media.consumer(trackId)?.getStats(),
    wanted: () => this.listenerCount('audioLevels') > 0 && this.#state !== 'disconnected',
    levels: (levels) => this.emit('audioLevels', levels),
  });

  private constructor(
    signaling: SignalingConnection,
    media: MediaSession,
    snapshot: JoinResult,
    options: JoinOptions,
    timeline: JoinTimeline,
  ) {
    super();
    this.#timeline = timeline;
    this.#signaling = signaling;
    this.#media = media;
    this.#options = options;
    this.#self = snapshot.self;
    this.room = snapshot.room;
    this.#permissions = new Set(snapshot.permissions);
    this.audience = new Audience(signaling);
    this.moderation = new Moderation(signaling);
    this.recording = new Recording(signaling);
    this.#resumeToken = snapshot.resumeToken;
    this.#graceMs = snapshot.reconnectGraceSeconds * 1000;
    this.#policy = options.reconnectPolicy ?? defaultReconnectPolicy;
    this.#tracks = new RemoteTracks(media, (id) => this.#model.participants.get(id), {
      added: (t) => {
        this.#timeline.mark('firstTrack');
        this.emit('trackAdded', t);
      },
      removed: (t) => {
        this.#audio.detach(t.id);
        this.emit('trackRemoved', t);
      },
      paused: (t) => {
        this.emit(t.paused ? 'trackPaused' : 'trackResumed', t);
        if (t.source === 'microphone' || t.source === 'camera') this.emit('participantMuted', t.participant, t.source, t.paused);
      },
      error: (e) => this.emit('error', e),
    });
  }

  /** As TypedEmitter's; listening to `audioLevels` starts reading the levels (they stop with the last listener). */
  override on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    const off = super.on(event, listener);
    if (event === 'audioLevels') this.#levels.start();
    return off;
  }

  /**
   * Optional, e.g. on page load or on a pre-join screen: asks the browser now for what loading the
   * media device needs (its own RTP capabilities, once per page), so that `join()` does not wait for it.
   */
  static async warmUp(handlerName?: types.BuiltinHandlerName): Promise<void> {
    await prepareHandler(handlerName);
  }

  /**
   * Opens the signaling connection ahead of `join()` — on the pre-join screen, once the token is
   * known — so that the join starts on an open socket with the router's capabilities already here,
   * and, if the room is already open on that server (a consultation, not a broadcast), a receive
   * transport connected in the background: the join's tracks then arrive on it with no ICE or DTLS
   * to wait for. `join()` with the same `url` and `token` takes both over (otherwise they are closed).
   * Rejects as the server refuses the token; the join then connects (and is refused) as usual.
   */
  static preconnect(options: { url: string; token: string }): Promise<void> {
    return preconnect(options.url, options.token);
  }

  /** Connects with the token, joins its room (after the lobby, if locked) and starts receiving. */
  static async join(options: JoinOptions): Promise<ConsultationClient> {
    const timeline = new JoinTimeline();
    // The browser's half of loading the Device starts now, alongside the connection (DeviceLoader).
    prepareHandler(options.handlerName).catch(() => undefined);
    const ahead = await takePreconnected(options.url, options.token);
    const signaling = ahead?.connection ?? (await SignalingConnection.connect({ url: options.url, token: options.token }));
    timeline.mark('socketOpen');
    try {
      const media = await MediaSession.create(signaling, options, timeline, ahead?.receive);
      const snapshot = await enterRoom(signaling, media, options, { timeline, signal: options.signal });
      const client = new ConsultationClient(signaling, media, snapshot, options, timeline);
      client.#start(snapshot);
      return client;
    } catch (error) {
      signaling.close();
      throw error;
    }
  }

  /**
   * The pre-call check, before joining: camera and microphone (a signal, not only a device), speakers,
   * signaling (reachable, round trip) and media to this server over UDP, TCP and TURN (round trip,
   * bitrate), without entering the room. Never rejects: each check is ok, failed or skipped with a reason.
   */
  static preflight(options: PreflightOptions): Promise<PreflightResult> {
    return preflight(options);
  }

  /** You in this room. A rejoin after the room moved makes a new participant: `id` changes then. */
  get self(): ParticipantInfo {
    return this.#self;
  }

  get participants(): ParticipantInfo[] {
    return [...this.#model.participants.values()];
  }

  get tracks(): RemoteTrack[] {
    return this.#tracks.list();
  }

  /**
   * Where the join's time went: ms from `join()` to the socket open, the router's capabilities, the
   * device loaded, the join answered, the receive transport made, it connected (ICE + DTLS) and the
   * first remote track (first occurrences; see JoinTimeline).
   */
  get timings(): JoinTimings {
    return this.#timeline.timings;
  }

  /** The last grade the server sent for a participant's line (yours: `self.id`); 'unknown' before one. */
  connectionQuality(participantId: string): ConnectionQuality {
    return this.#model.lines.get(participantId)?.quality ?? 'unknown';
  }

  /** Who speaks now (null: nobody, or not known yet): set at join, then by `activeSpeaker` events. */
  get activeSpeaker(): ParticipantInfo | null {
    const id = this.#activeSpeakerId;
    return id === null ? null : id === this.#self.id ? this.#self : (this.#model.participants.get(id) ?? null);
  }

  get connectionState(): ConnectionState {
    return this.#state;
  }

  get roomLocked(): boolean {
    return this.#model.locked;
  }

  get raisedHands(): string[] {
    return [...this.#model.raisedHands];
  }

  /** The chat as far as loaded, oldest first: the latest messages at join, older ones via `loadOlderChat`. */
  get chatHistory(): ChatMessage[] {
    return [...this.#model.chat];
  }

  /** Whether the server keeps older chat messages than `chatHistory` holds. */
  get hasOlderChat(): boolean {
    return this.#model.olderChat;
  }

  /** Moderators: the people waiting in the lobby. */
  get waiting(): ParticipantInfo[] {
    return [...this.#waiting];
  }

  get mutedByModerator(): ModeratedSource[] {
    return [...this.#muted];
  }

  /** What you may do in this room now (your role's row of the permission table, plus any stage grant). */
  get permissions(): ReadonlySet<Permission> {
    return this.#permissions;
  }

  can(permission: Permission): boolean {
    return this.#permissions.has(permission);
  }

  // ---- publishing ----

  async publishCamera(options: PublishOptions & { constraints?: MediaTrackConstraints } = {}): Promise<MediaStreamTrack> {
    this.#require('publish_video', 'publish a camera');
    return this.#watched('camera', this.#media.publishCamera(options));
  }

  /** Cameras, microphones and speakers of this computer (names once capture was allowed). */
  devices(): Promise<DeviceList> {
    return listDevices();
  }

  /**
   * Another camera (`deviceId` from `devices()`), or the same one with other constraints, during the
   * call without unpublishing: the others keep receiving, with no leave or join. Resolves with the new track.
   */
  switchCamera(deviceId?: string, constraints?: MediaTrackConstraints): Promise<MediaStreamTrack> {
    return this.#watched('camera', this.#media.switchSource('camera', onDevice(deviceId, constraints)));
  }

  /** Another microphone during the call, the same way as `switchCamera`. */
  switchMicrophone(deviceId?: string, constraints?: MediaTrackConstraints): Promise<MediaStreamTrack> {
    return this.#watched('microphone', this.#media.switchSource('microphone', onDevice(deviceId, constraints)));
  }

  async publishMicrophone(constraints?: MediaTrackConstraints): Promise<MediaStreamTrack> {
    this.#require('publish_audio', 'publish a microphone');
    return this.#watched('microphone', this.#media.publishMicrophone(constraints));
  }

  /** Follows a captured track for `deviceLost` (unplugged devices). */
  async #watched(source: 'camera' | 'microphone', capture: Promise<MediaStreamTrack>): Promise<MediaStreamTrack> {
    const track = await capture;
    this.#deviceWatch.watch(source, track);
    return track;
  }

  async publishScreen(): Promise<MediaStreamTrack> {
    this.#require('publish_screen', 'share a screen');
    const track = await this.#media.publishScreen();
    // The browser's own "stop sharing" button ends the track: unpublish with it.
    track.addEventListener('ended', () => void this.unpublish('screen').catch(() => undefined));
    return track;
  }

  /** Publishes a track the page already has (e.g. from a medical imaging device or a canvas). */
  async publishTrack(track: MediaStreamTrack, source: MediaSource, options: PublishOptions = {}): Promise<void> {
    await this.#media.publish(track, source, options);
  }

  async unpublish(source: MediaSource): Promise<void> {
    await this.#media.unpublish(source);
  }

  /** Pauses (mutes) or resumes one of your own sources for everyone. */
  async setPublishedPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.#media.producer(source);
    if (!producer) throw new ProtocolError('WRONG_STATE', `${source} is not published`);
    await this.#signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
    if (paused) producer.pause();
    else producer.resume();
  }

  /**
   * Chooses the simulcast layer received for a remote camera: low for a thumbnail, high for the main
   * tile. A new track may start on the smallest layer for a quicker first picture, raised a moment
   * later; a choice made before then takes effect at the raise.
   */
  async setReceiveQuality(trackId: string, quality: ReceiveQuality): Promise<void> {
    const spatialLayer = { low: 0, medium: 1, high: 2 }[quality];
    await this.#signaling.request('setPreferredLayers', { consumerId: trackId, spatialLayer });
  }

  // ---- sound ----

  /**
   * Plays a received audio track — in `element` if given, else in an element the SDK keeps (it need
   * not be in the document) — and watches for the browser refusing it: then `audioPlaybackBlocked`
   * fires and `startAudio()` from a click resumes it. The element is released on `trackRemoved`.
   */
  attachAudio(track: RemoteTrack, element?: HTMLMediaElement): HTMLMediaElement {
    if (track.kind !== 'audio') throw new ProtocolError('BAD_REQUEST', 'attachAudio takes an audio track');
    return this.#audio.attach(track.id, track.mediaStreamTrack, element);
  }

  /**
   * Resumes every remote audio element started by `attachAudio`. Call it from a user gesture (a click
   * handler): it emits `audioPlaybackStarted` after a refusal, and rejects (NotAllowedError) if the
   * browser still refuses (not called from a gesture).
   */
  startAudio(): Promise<void> {
    return this.#audio.start();
  }

  /** Whether remote sound is refused by the browser until `startAudio()` (see `audioPlaybackBlocked`). */
  get audioBlocked(): boolean {
    return this.#audio.blocked;
  }

  // ---- hands, chat ----

  async setHandRaised(raised: boolean): Promise<void> {
    await this.#signaling.request('setHandRaised', { raised });
  }

  async sendChat(text: string): Promise<ChatMessage> {
    const { message } = await this.#signaling.request('sendChat', { text });
    this.#model.addChat(message);
    return message;
  }

  /**
   * Loads up to `limit` (1-100) chat messages older than those in `chatHistory` and puts them in front
   * of it; resolves with them, oldest first (empty when there are none).
   */
  async loadOlderChat(limit = 50): Promise<ChatMessage[]> {
    if (!this.#model.olderChat) return [];
    const before = this.#model.chat[0]?.id;
    const page = await this.#signaling.request('chatHistory', before === undefined ? { limit } : { before, limit });
    return this.#model.addOlderChat(page.messages, page.hasMore);
  }

  // ---- session ----

  /** WebRTC statistics of the send and receive connections (for diagnostics and tests). */
  getStats(): Promise<RTCStatsReport[]> {
    return this.#media.peerConnectionStats();
  }

  async leave(): Promise<void> {
    if (this.#state === 'disconnected') return;
    try {
      // While reconnecting or moving there is no session on the socket to leave: ending is enough.
      if (this.#state === 'connected' && this.#signaling.connected) await this.#signaling.request('leave', {});
    } finally {
      this.#end('left', 'you left the room');
    }
  }

  #require(permission: Permission, what: string): void {
    if (!this.#permissions.has(permission))
      throw new ProtocolError('FORBIDDEN', `your role (${this.self.role}) may not ${what} in this room`);
  }

  /**
   * A fresh access token for this person and room (e.g. on `tokenExpiring`): used by every reconnect,
   * resume and rejoin from now on, so a consultation longer than one token's lifetime survives them.
   * A token for someone else or another room is refused here (BAD_REQUEST).
   */
  updateToken(token: string): void {
    const facts = readToken(token);
    if (facts.sub !== this.#self.identity || facts.room !== this.room.id)
      throw new ProtocolError('BAD_REQUEST', 'updateToken needs a token for the same person and room as this session');
    this.#signaling.useToken(token);
    this.#tokenClock.watch(token);
  }

  #start(snapshot: JoinResult): void {
    this.#tokenClock.watch(this.#options.token);
    this.#applySnapshot(snapshot);
    const s = this.#signaling;
    const who = (id: string) => this.#model.participants.get(id);
    s.on('participantJoined', ({ participant }) => {
      // Announced again after a join answer that already had them (the server tells what happened
      // while it answered after the answer): known, so not announced twice.
      const known = this.#model.participants.has(participant.id);
      this.#model.participants.set(participant.id, participant);
      if (!known) this.emit('participantJoined', participant);
    });
    s.on('participantLeft', ({ participantId, reason }) => this.#onParticipantLeft(participantId, reason));
    s.on('participantConnection', ({ participantId, state }) => {
      const p = who(participantId);
      if (p) this.emit('participantConnection', p, state);
    });
    s.on('producerAdded', ({ producer }) => this.#tracks.receive(producer));
    s.on('consumerClosed', ({ consumerId }) => this.#tracks.drop(consumerId));
    s.on('producerPaused', ({ producerId }) => this.#tracks.setPaused(producerId, true));
    s.on('producerResumed', ({ producerId }) => this.#tracks.setPaused(producerId, false));
    s.on('connectionQuality', (report) => {
      if (!this.#person(report.participantId)) return;
      this.#model.lines.set(report.participantId, report);
      this.#emitLine(report);
    });
    s.on('activeSpeaker', ({ participantId }) => {
      this.#activeSpeakerId = participantId;
      this.emit('activeSpeaker', this.activeSpeaker);
    });
    s.on('roomLocked', ({ locked, by }) => {
      this.#model.locked = locked;
      this.emit('roomLocked', locked, by);
    });
    s.on('lobbyChanged', ({ waiting }) => {
      this.#waiting = waiting;
      this.emit('lobbyChanged', waiting);
    });
    s.on('mutedByModerator', ({ source, by }) => {
      this.#muted.add(source);
      this.#media.producer(source)?.pause(); // stop sending what nobody receives
      this.emit('mutedByModerator', source, by);
    });
    s.on('unmuteAllowed', ({ source, by }) => {
      this.#muted.delete(source);
      this.emit('unmuteAllowed', source, by);
    });
    s.on('ownProducerClosed', ({ source, by }) => {
      this.#media.producer(source)?.close();
      this.emit('unpublished', source, by);
    });
    s.on('handRaised', ({ participantId, raised }) => {
      if (raised) this.#model.raisedHands.add(participantId);
      else this.#model.raisedHands.delete(participantId);
      const p = this.#person(participantId);
      if (p) this.emit('handRaised', p, raised);
    });
    s.on('chatMessage', ({ message }) => {
      if (this.#model.addChat(message)) this.emit('chatMessage', message);
    });
    s.on('permissionsChanged', ({ permissions }) => this.#setPermissions(permissions));
    s.on('sessionEnded', ({ reason, message }) => {
      // The room goes on on another node (this one is draining): join it there. While a recovery
      // runs, it finds out by itself (the session is gone: NOT_FOUND).
      if (reason !== 'room_moved') this.#end(reason, message);
      else if (this.#state === 'connected') void this.#recover(true);
    });
    s.on('lost', () => void this.#recover(false));
    if (typeof window !== 'undefined') {
      // Closing the page is leaving: the others should not wait out the reconnect grace period.
      window.addEventListener('pagehide', () => this.#signaling.close(), { once: true });
    }
    void this.#media.warmUp().catch((error: unknown) => this.emit('error', asError(error)));
  }

  /** A stage grant given or taken back: drop what may no longer be sent, then tell the page. */
  #setPermissions(permissions: Permission[]): void {
    this.#permissions = new Set(permissions);
    for (const source of ['microphone', 'camera', 'screen'] as const)
      if (!this.can(publishPermission(source))) this.#media.producer(source)?.close();
    this.emit('permissionsChanged', [...permissions]);
  }

  /**
   * Merges a server snapshot: people who came or went meanwhile, tracks to receive or drop. After a
   * rejoin everyone has a new participant id: the old ones are reported gone with `leftReason`.
   */
  #applySnapshot(snapshot: JoinResult, leftReason: LeaveReason = 'left'): void {
    const diff = this.#model.apply(snapshot);
    this.#self = snapshot.self;
    this.#permissions = new Set(snapshot.permissions);
    this.audience.apply(snapshot, this.can('manage_questions'));
    this.recording.apply(snapshot);
    this.#resumeToken = snapshot.resumeToken;
    this.#graceMs = snapshot.reconnectGraceSeconds * 1000;
    this.#muted.clear();
    for (const source of snapshot.mutedByModerator) this.#muted.add(source);
    this.#activeSpeakerId = snapshot.activeSpeakerId;
    this.#tracks.reconcile(snapshot.producers);
    for (const p of diff.left) this.emit('participantLeft', p, leftReason);
    for (const p of diff.joined) this.emit('participantJoined', p);
    for (const m of diff.newChat) this.emit('chatMessage', m);
    if (diff.lockChanged) this.emit('roomLocked', this.#model.locked, null);
    for (const r of diff.linesChanged) this.#emitLine(r);
  }

  /** Oneself or someone this client knows (null: nobody it knows). */
  #person(participantId: string): ParticipantInfo | null {
    return participantId === this.#self.id ? this.#self : (this.#model.participants.get(participantId) ?? null);
  }

  #emitLine(report: LineQualityReport): void {
    const p = this.#person(report.participantId);
    if (p) this.emit('connectionQualityChanged', p, report.quality, { rttMs: report.rttMs, lossPercent: report.lossPercent });
  }

  #onParticipantLeft(participantId: string, reason: LeaveReason): void {
    this.#tracks.dropParticipant(participantId);
    const participant = this.#model.forget(participantId);
    if (participant) this.emit('participantLeft', participant, reason);
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('connectionStateChanged', state);
  }

  /**
   * Signaling dropped (or the room moved: `sessionGone`): resume the same participant while the
   * server still keeps it, or join again where the room is served now (see recovery.ts).
   */
  async #recover(sessionGone: boolean): Promise<void> {
    if (this.#state !== 'connected') return;
    this.#setState(sessionGone ? 'moving' : 'reconnecting');
    const { getToken } = this.#options;
    const outcome = await recoverSession(
      {
        entryUrl: this.#signaling.entryUrl,
        reconnect: () => this.#signaling.reconnect(),
        reconnectViaEntry: () => this.#signaling.reconnect({ viaEntry: true }),
        resume: async () => {
          const snapshot = await this.#signaling.request('resume', { participantId: this.self.id, resumeToken: this.#resumeToken });
          await this.#media.closeDropped(); // before the room's tracks are received again
          this.#applySnapshot(snapshot);
        },
        rejoin: () => this.#rejoin(),
        refreshToken: getToken && (async () => this.updateToken(await getToken())),
        moving: () => this.#setState('moving'),
        active: () => this.#recovering,
      },
      { policy: this.#policy, graceMs: this.#graceMs, sessionGone },
    );
    if (!this.#recovering) return; // left meanwhile
    if (outcome instanceof Error)
      return this.#end('connection_lost', outcome.message, outcome instanceof ProtocolError ? outcome.code : undefined);
    this.#setState('connected');
    if (outcome === 'resumed') await this.#media.restartFailedIce().catch((error: unknown) => this.emit('error', asError(error)));
  }

  get #recovering(): boolean {
    return this.#state === 'reconnecting' || this.#state === 'moving';
  }

  /**
   * Joins again on the open socket as on the first join — the old session's tracks end, new
   * transports, the room's producers received — then publishes the same tracks again (paused ones
   * paused). Throws (to be retried) if the connection drops meanwhile.
   */
  async #rejoin(): Promise<void> {
    this.#tracks.clear();
    await this.#media.reset();
    const snapshot = await enterRoom(this.#signaling, this.#media, this.#options);
    if (!this.#recovering) return;
    const before = [...this.#permissions];
    this.#applySnapshot(snapshot, 'room_moved');
    if (before.length !== this.#permissions.size || before.some((p) => !this.#permissions.has(p)))
      this.emit('permissionsChanged', [...this.#permissions]);
    void this.#media.warmUp().catch((error: unknown) => this.emit('error', asError(error)));
    for (const source of this.#media.published()) await this.#republish(source);
    if (!this.#signaling.connected) throw new ProtocolError('UNAVAILABLE', 'the connection dropped while joining again');
  }

  async #republish({ source, track, options, paused }: PublishedSource): Promise<void> {
    if (!this.can(publishPermission(source))) return this.#media.forget(source);
    try {
      await this.#media.publish(track, source, options, paused);
    } catch (error) {
      if (error instanceof ProtocolError && error.code === 'UNAVAILABLE') throw error; // the next attempt republishes
      this.#media.forget(source);
      this.emit('error', new Error(`your ${source} could not be published again: ${asError(error).message}`));
    }
  }

  #end(reason: LeaveReason | 'connection_lost', message: string, code?: ErrorCode): void {
    if (this.#state === 'disconnected') return;
    this.#tokenClock.stop();
    this.#deviceWatch.close();
    this.#levels.stop();
    this.#setState('disconnected');
    this.#tracks.dropAll();
    this.#audio.detachAll();
    this.#media.close();
    this.#signaling.close();
    this.emit('disconnected', code ? { reason, message, code } : { reason, message });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
