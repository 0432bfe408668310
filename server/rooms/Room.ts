/**
 * A room is one consultation (or follow-up, broadcast, training session) on one mediasoup router.
 * It is the core of the domain: it keeps who is in it and who waits in its lobby, owns the rules of
 * entering, leaving, reconnecting, moderating, chatting, and tells everyone concerned and writes the
 * audit trail from one place per action. A room cannot exist without its case record (the trail it
 * writes to): one is opened when the room is created, or the room is not created. It closes a short
 * while (the linger) after its last participant leaves — so a reconnect or a quick return reuses the
 * same room and the same trail — at once when a moderator ends it, the server stops or its worker
 * dies, closing everything beneath it once.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import {
  badRequest,
  forbidden,
  notFound,
  ProtocolError,
  wrongState,
  type Actor,
  type JoinResult,
  type LeaveReason,
  type MediaSource,
  type NotificationMap,
  type NotificationName,
  type ChatMessage,
  type ParticipantInfo,
  type ProducerInfo,
  type RecordingInfo,
  type RoomKind,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { MEDIA_CODECS } from '../media/codecs.js';
import type { MediaWorker, WorkerPool } from '../media/WorkerPool.js';
import { actorFromParticipant, type AuditData } from '../../recordings/AuditTrail.js';
import type { AuditType, RoomAuditEvent } from './audit.js';
import { Audience } from './Audience.js';
import { recordUnavailable, type CaseRecordOpener, type RoomCaseRecord } from './caseRecord.js';
import { ChatLog, DEFAULT_CHAT_LIMITS } from './ChatLog.js';
import { FanOut } from './FanOut.js';
import { GraceTimers } from './GraceTimers.js';
import { Lobby } from './Lobby.js';
import { Moderation } from './Moderation.js';
import type { CarriedState, DurableSnapshot, RoomMemory } from './RoomMemory.js';
import { RoomLock } from './RoomLock.js';
import { QualityWatch } from './QualityWatch.js';
import type { CallQuality } from './callQuality.js';
import type { MutableSource, Participant, ParticipantChannel, PublishedTrack } from './Participant.js';
import { RoomMedia, type MediaLimits } from './RoomMedia.js';
import { pseudonym } from '../pseudonym.js';

export interface RoomDescriptor {
  id: string;
  kind: RoomKind;
  caseId: string | undefined;
}

export interface RoomOptions extends MediaLimits {
  /** How long a participant whose signaling dropped is kept before the others are told they left. */
  reconnectGraceSeconds: number;
  /** Broadcast/training: consumers a viewer router takes before the next router (next core) is used. */
  consumersPerRouter: number;
  /** Broadcast/training: minimum gap between key-frame requests forwarded to a presenter. */
  keyFrameRequestDelayMs: number;
  /** How long an empty room stays open for someone to come back before it closes (0: at once). */
  emptyLingerSeconds: number;
  /** Chat messages handed to a joiner; older ones are paged with `chatHistory`. */
  chatOnJoin: number;
}

/** Rooms with a large receive-only audience spread over every worker. */
const FAN_OUT_KINDS: ReadonlySet<RoomKind> = new Set(['broadcast', 'training']);
/**
 * Rooms where who speaks changes the picture: a consultation's or a training's discussion. A broadcast
 * has its presenter on screen; an observer there would only cost the worker audio-level work and
 * send every viewer a message at each change of voice.
 */
const SPEAKER_KINDS: ReadonlySet<RoomKind> = new Set(['consultation', 'follow_up', 'training']);

/** What a room needs to exist; the case record is not optional. */
export interface RoomDeps {
  pool: WorkerPool;
  options: RoomOptions;
  memory: RoomMemory;
  /** Opens the room's case record (its audit trail); if it cannot, the room is not created. */
  openCaseRecord: CaseRecordOpener;
  log: Logger;
}

/** For observers (metrics, tests); the room's own duties never hang on these. */
interface RoomEvents {
  closed: [];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  audit: [event: RoomAuditEvent];
  /** A ban, the end, or the lock changed: what must outlive the room (and, clustered, this node). */
  memoryChanged: [];
  /** The quality watch measured a participant's line (every round, changed or not; for /metrics). */
  lineSampled: [participant: Participant, line: CallQuality];
}

export interface ProducerAppData extends types.AppData {
  participantId: string;
  source: MediaSource;
}

export const actorOf = (p: Participant): Actor => ({ participantId: p.id, displayName: p.info.displayName });

function auditEvent(type: AuditType, actor?: Participant, subject?: Participant, data?: AuditData): RoomAuditEvent {
  const event: RoomAuditEvent = { type };
  if (actor) event.actor = actorFromParticipant(actor.info);
  if (subject) event.subject = actorFromParticipant(subject.info);
  if (data) event.data = data;
  return event;
}

export class Room extends EventEmitter<RoomEvents> {
  readonly id: string;
  readonly kind: RoomKind;
  readonly caseId: string | undefined;
  readonly router: types.Router;
  readonly workerIndex: number;
  /** The worker's single-port media endpoint every transport of this room uses. */
  readonly webRtcServer: types.WebRtcServer;
  readonly chat: ChatLog;
  readonly audience: Audience;
  readonly media: RoomMedia;
  readonly moderation: Moderation;
  /** Viewer routers on every worker; only in broadcast and training rooms. */
  readonly fanOut: FanOut | undefined;
  readonly options: RoomOptions;
  /** The room's case record: its audit trail and recordings. */
  readonly caseRecord: RoomCaseRecord;
  /** When the room opened on this node. */
  readonly openedAt = new Date();
  #hlsUrl: string | null = null;
  readonly #participants = new Map<string, Participant>();
  readonly #lobby = new Lobby(() => this.#notifyModerators('lobbyChanged', { waiting: this.#lobby.list() }));
  readonly #memory: RoomMemory;
  readonly #grace = new GraceTimers();
  readonly #speakerObserver: types.ActiveSpeakerObserver | undefined;
  readonly #log: Logger;
  #activeSpeakerId: string | null = null;
  /** Set while the room is empty and waiting to close. */
  #lingerTimer: NodeJS.Timeout | undefined;
  readonly #lock = new RoomLock();
  readonly #quality: QualityWatch;
  /** Clustered: the recording this room had on its previous node, to go on here (see `carried`). */
  #recordingToContinue: string | null = null;
  /** Set when the room closes to move to another node: what that node takes over. */
  #movedWith: CarriedState | null = null;
  #closed = false;
  #admitting = false;

  private constructor(
    desc: RoomDescriptor,
    router: types.Router,
    host: MediaWorker,
    observer: types.ActiveSpeakerObserver | undefined,
    deps: RoomDeps,
  ) {
    super();
    const { pool, options, memory, log } = deps;
    this.#memory = memory;
    this.id = desc.id;
    this.kind = desc.kind;
    this.caseId = desc.caseId;
    this.router = router;
    this.workerIndex = host.index;
    this.webRtcServer = host.webRtcServer;
    this.#speakerObserver = observer;
    this.options = options;
    this.#log = log.child({ room: desc.id });
    // Rate limits keep their clocks in the room's memory: rejoining, or reopening the room, resets none.
    this.chat = new ChatLog(DEFAULT_CHAT_LIMITS, memory.chatTimes);
    this.audience = new Audience(this, FAN_OUT_KINDS.has(desc.kind), memory.lastAsked);
    this.media = new RoomMedia(this, options);
    this.moderation = new Moderation(this);
    const origin = { router, webRtcServer: host.webRtcServer, workerIndex: host.index };
    this.fanOut = FAN_OUT_KINDS.has(desc.kind) ? new FanOut(origin, pool, options.consumersPerRouter, log) : undefined;
    // Everyone's line in a consultation; in a broadcast only those the audience depends on.
    this.#quality = new QualityWatch(this, (p) => !this.fanOut || p.publishesByRole || p.can('moderate') || p.onStage);
    observer?.on('dominantspeaker', ({ producer }) => this.#setActiveSpeaker((producer.appData as ProducerAppData).participantId));
    // A dead worker takes the router with it: the room cannot go on, so it ends for everyone.
    // Once the room is whole: the record reads the room it belongs to. If it cannot be opened, there
    // is no room, so nothing below may have been wired yet.
    this.caseRecord = deps.openCaseRecord(this);
    this.#takeOver(memory);
    router.observer.once('close', () => this.close('room_closed', 'the media server process for this room stopped; please rejoin'));
  }

  static async create(desc: RoomDescriptor, deps: RoomDeps): Promise<Room> {
    if (deps.memory.ended) throw wrongState('this consultation was ended by its lead; a new one needs a new room');
    const { router, host } = await deps.pool.createRouter(MEDIA_CODECS);
    try {
      const observer = SPEAKER_KINDS.has(desc.kind) ? await router.createActiveSpeakerObserver({ interval: 300 }) : undefined;
      const room = new Room(desc, router, host, observer, deps);
      room.#log.info({ kind: desc.kind, caseId: desc.caseId, worker: host.index }, 'room opened');
      return room;
    } catch (error) {
      router.close();
      if (error instanceof ProtocolError) throw error;
      deps.log.error({ err: error, room: desc.id }, 'room could not be opened');
      throw new ProtocolError(
        'UNAVAILABLE',
        'this room cannot be opened on this server right now (its record could not be prepared); please try again shortly',
      );
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#participants.size;
  }

  /** What must outlive this room (and, clustered, this node): bans, the end, mutes; the lock and recording while it runs. */
  durableSnapshot(): DurableSnapshot {
    const mutes = Object.fromEntries([...this.#memory.mutes].map(([identity, sources]) => [identity, [...sources]]));
    return {
      banned: [...this.#memory.banned],
      ended: this.#memory.ended,
      mutes,
      live: !this.#closed,
      carry: this.#closed ? this.#movedWith : this.#carried(),
    };
  }

  #carried(): CarriedState {
    return { lock: this.#lock.state(), recording: this.recording?.sessionId ?? this.#recordingToContinue };
  }

  /**
   * The room ran on another node until it died or handed it over: the lock holds (those inside come
   * back in, newcomers wait) and a recording that was running goes on as a new part linked to it,
   * started when the first participant is back (`takeRecordingToContinue`).
   */
  #takeOver(memory: RoomMemory): void {
    const carried = memory.carried;
    memory.carried = null; // once: a later opening of the room starts afresh
    if (!carried) return;
    this.#lock.restore(carried.lock);
    this.#recordingToContinue = carried.recording;
    this.#log.info({ locked: carried.lock.locked, recording: carried.recording }, 'room taken over from another node');
  }

  /** The earlier part's session id if this room must go on recording it (asked once, by the case record). */
  takeRecordingToContinue(): string | null {
    const sessionId = this.#recordingToContinue;
    this.#recordingToContinue = null;
    return sessionId;
  }

  /** The case record started or stopped a recording: part of what the next node must know. */
  recordingChanged(): void {
    this.emit('memoryChanged');
  }

  get locked(): boolean {
    return this.#lock.locked;
  }

  get activeSpeakerId(): string | null {
    return this.#activeSpeakerId;
  }

  participants(): Participant[] {
    return [...this.#participants.values()];
  }

  participant(id: string): Participant | undefined {
    return this.#participants.get(id);
  }

  /** The participant an action is aimed at, or NOT_FOUND. */
  target(id: string): Participant {
    const participant = this.#participants.get(id);
    if (!participant) throw notFound('that participant is not in this room (they may have just left)');
    return participant;
  }

  /** Set while the room is also streamed as HLS. */
  get hlsUrl(): string | null {
    return this.#hlsUrl;
  }

  /** The recording in progress, if any. */
  get recording(): RecordingInfo | null {
    return this.caseRecord.recording;
  }

  waiting(): ParticipantInfo[] {
    return this.#lobby.list();
  }

  producerInfos(except?: Participant): ProducerInfo[] {
    return this.participants()
      .filter((p) => p !== except)
      .flatMap((p) => p.producerInfos());
  }

  /** Everything a participant needs to render the room, on join, admission or resume. */
  snapshotFor(participant: Participant): JoinResult {
    // The latest messages only: the whole history in every join answer made churn a flood.
    const chat = this.chat.page(undefined, this.options.chatOnJoin);
    const others = this.participants().filter((p) => p !== participant && this.sees(participant, p));
    const shown = new Set<string>([participant.id, ...others.map((p) => p.id)]);
    return {
      room: { id: this.id, kind: this.kind, caseId: this.caseId ?? null },
      self: participant.info,
      permissions: [...participant.permissions],
      participants: others.map((p) => p.info),
      producers: this.producerInfos(participant),
      activeSpeakerId: this.#activeSpeakerId,
      roomLocked: this.#lock.locked,
      raisedHands: this.participants()
        .filter((p) => p.handRaised)
        .map((p) => p.id),
      lineQuality: this.#quality.latest().filter((r) => shown.has(r.participantId)),
      mutedByModerator: participant.mutedSources(),
      chat: chat.messages,
      chatHasMore: chat.hasMore,
      questions: this.audience.questionsFor(participant),
      onStage: this.audience.onStage(),
      viewerCount: this.audience.viewerCount,
      hlsUrl: this.#hlsUrl,
      recording: this.recording,
      resumeToken: participant.resumeToken,
      reconnectGraceSeconds: this.options.reconnectGraceSeconds,
    };
  }

  /**
   * A participant arrives: refused if removed earlier, parked in the lobby if the room is locked and
   * their role may not bypass it, otherwise admitted. The same identity arriving again (a second
   * device, a reloaded page) replaces the earlier session, so one person is never shown twice.
   */
  enter(participant: Participant): 'joined' | 'waiting' {
    if (this.#closed) throw wrongState('this room has just closed; please join again');
    this.refuseIfRemoved(participant.info.identity);
    // No consultation without its trail: while it cannot be written, nobody is let in.
    this.caseRecord.ensureWritable?.();
    this.#lobby.findIdentity(participant.info.identity)?.close('replaced', 'you joined this room from another window or device');
    if (!this.admitsAtOnce(participant.info.identity, participant.can('bypass_lobby'))) {
      this.audit('lobby_waiting', participant);
      this.#lobby.add(participant);
      return 'waiting';
    }
    this.#admit(participant);
    return 'joined';
  }

  /** Refuses someone this room's moderator removed: at the join, a resume, and a pre-join screen's preparation. */
  refuseIfRemoved(identity: string): void {
    if (this.#memory.banned.has(identity)) throw forbidden('you were removed from this consultation by its moderator');
  }

  /**
   * Whether someone arriving now would be admitted at once — not refused, not parked in the lobby —
   * given their identity and whether their role may bypass the lobby (a pre-join screen's
   * `prepareReceive` makes tracks ahead only then).
   */
  admitsAtOnce(identity: string, mayBypassLobby: boolean): boolean {
    return !this.#closed && !this.#memory.banned.has(identity) && (this.#lock.lets(identity) || mayBypassLobby);
  }

  setLocked(locked: boolean, by: Participant): void {
    if (this.#lock.locked === locked) return;
    this.audit(locked ? 'room_locked' : 'room_unlocked', by);
    if (locked) this.#lock.lock(this.participants().map((p) => p.info.identity));
    else this.#lock.unlock();
    this.emit('memoryChanged');
    this.notifyOthers(null, 'roomLocked', { locked, by: actorOf(by) });
  }

  admitFromLobby(id: string, by: Participant): void {
    const waiting = this.#lobby.all().find((p) => p.id === id);
    if (!waiting) throw wrongState('that person is no longer waiting in the lobby');
    this.audit('lobby_admitted', by, waiting);
    const participant = this.#takeWaiting(id);
    try {
      this.#admit(participant);
    } catch (error) {
      this.#lobby.add(participant); // their joining could not be written: they wait on
      throw error;
    }
    this.#lock.admit(participant.info.identity);
    this.emit('memoryChanged');
    participant.notify('admitted', this.snapshotFor(participant));
  }

  declineFromLobby(id: string, by: Participant): void {
    const participant = this.#takeWaiting(id);
    this.auditFact('lobby_declined', by, participant);
    participant.close('declined', `${by.info.displayName} did not admit you to this consultation`);
  }

  /**
   * A moderator's mute holds for the person, not the connection: leaving and rejoining (or the room
   * moving to another node) does not lift it; only `allowUnmute` does.
   */
  rememberMute(identity: string, source: MutableSource, muted: boolean): void {
    const sources = this.#memory.mutes.get(identity) ?? new Set<MutableSource>();
    if (muted) sources.add(source);
    else sources.delete(source);
    if (sources.size > 0) this.#memory.mutes.set(identity, sources);
    else this.#memory.mutes.delete(identity);
    this.emit('memoryChanged');
  }

  /** Removes a participant; `ban` keeps their identity out of this room from now on. */
  remove(participant: Participant, reason: LeaveReason, message?: string, ban = false): void {
    if (ban) {
      this.#memory.banned.add(participant.info.identity);
      this.emit('memoryChanged');
    }
    participant.close(reason, message);
  }

  /**
   * The participant's connection ended. A client that closed it on purpose has left, and so has a
   * lobby waiter; a dropped connection (network blip, proxy restart) gets the grace period to resume.
   */
  connectionLost(participant: Participant, intentional: boolean): void {
    if (intentional || participant.state !== 'joined') this.remove(participant, 'disconnected');
    else this.#suspend(participant);
  }

  /** Keep a participant whose signaling dropped (media keeps flowing) for the grace period. */
  #suspend(participant: Participant): void {
    if (!this.#participants.has(participant.id)) return participant.close('disconnected');
    participant.suspend();
    this.notifyAbout(participant, 'participantConnection', { participantId: participant.id, state: 'reconnecting' });
    this.auditFact('participant_reconnecting', participant);
    this.#grace.start(participant.id, this.options.reconnectGraceSeconds * 1000, () => participant.close('disconnected'));
  }

  /** A new socket proved it is `participant`: reattach and hand it the current state. */
  resume(participant: Participant, channel: ParticipantChannel): JoinResult {
    if (participant.closed || this.#participants.get(participant.id) !== participant) throw wrongState('that session is over; join again');
    this.refuseIfRemoved(participant.info.identity);
    this.#grace.cancel(participant.id);
    // The old socket may not have noticed its own death yet (the client saw it first): close it, so
    // it can neither act as this participant nor suspend them when its disconnect finally arrives.
    const wasSuspended = participant.state === 'suspended';
    const previous = participant.resume(channel);
    if (previous !== channel) previous.close();
    if (wasSuspended) this.notifyAbout(participant, 'participantConnection', { participantId: participant.id, state: 'connected' });
    // Not refused: they never left the room (their media kept flowing); dropping them for a broken trail helps no record.
    this.auditFact('participant_resumed', participant);
    return this.snapshotFor(participant);
  }

  /** A hand up or down: one's own (raise or lower), or someone else's lowered by a moderator. */
  setHandRaised(participant: Participant, raised: boolean, by: Participant): void {
    if (participant !== by && raised) throw badRequest('you can only raise your own hand');
    if (participant.handRaised === raised) return;
    if (raised) this.audit('hand_raised', by);
    participant.setHandRaised(raised);
    this.notifyAbout(participant, 'handRaised', { participantId: participant.id, raised }, true);
    if (!raised) this.auditFact('hand_lowered', by, by === participant ? undefined : participant);
  }

  /** Registers a new producer: others are told, audio feeds the active-speaker observer. */
  publish(owner: Participant, producer: types.Producer, source: MediaSource): void {
    try {
      this.audit('published', owner, undefined, { producerId: producer.id, source, kind: producer.kind });
    } catch (error) {
      producer.close(); // never announced, never recorded: as if it had not been made
      throw error;
    }
    owner.addProducer(producer, source);
    if (producer.kind === 'audio' && this.#speakerObserver) {
      this.#speakerObserver
        .addProducer({ producerId: producer.id })
        .catch((err: unknown) => this.#log.warn({ err }, 'active speaker observer'));
    }
    producer.observer.once('close', () => {
      this.notifyOthers(owner, 'producerClosed', { producerId: producer.id, participantId: owner.id });
      this.auditFact('unpublished', owner, undefined, { producerId: producer.id, source });
    });
    const info = owner.producerInfos().find((p) => p.id === producer.id);
    if (info) this.notifyOthers(owner, 'producerAdded', { producer: info });
    this.caseRecord.trackPublished(owner, producer, source);
  }

  /**
   * A chat message: part of the consultation record first, then everyone else sees it. If the trail
   * cannot take it, the author is answered UNAVAILABLE and nobody else sees it.
   */
  postChat(author: Participant, text: string): ChatMessage {
    const message = this.chat.post(author.info, text, undefined, (m) => this.audit('chat', author, undefined, { messageId: m.id, text }));
    this.notifyOthers(author, 'chatMessage', { message });
    return message;
  }

  /** HLS output started (`url`) or ended (null); `by` is the moderator who asked, if one did. */
  setHlsOutput(url: string | null, by?: Participant): void {
    if (this.#hlsUrl === url) return;
    this.#hlsUrl = url;
    // Facts: FFmpeg already runs (or has stopped) when this is called.
    if (url !== null) this.auditFact('hls_started', by, undefined, { url });
    else if (by) this.auditFact('hls_stopped', by);
    if (!this.#closed) this.notifyOthers(null, 'hlsChanged', { url });
  }

  /** The lead ends the consultation for everyone; it cannot be reopened. */
  end(by: Participant): void {
    this.close('room_ended', `${by.info.displayName} ended the consultation`, by);
  }

  findProducer(producerId: string): { owner: Participant; track: PublishedTrack } | undefined {
    for (const owner of this.#participants.values()) {
      const track = owner.findProducer(producerId);
      if (track) return { owner, track };
    }
    return undefined;
  }

  notifyOthers<N extends NotificationName>(except: Participant | null, name: N, payload: NotificationMap[N]): void {
    for (const p of this.#participants.values()) if (p !== except) p.notify(name, payload);
  }

  /**
   * Whether `observer` is shown `subject` at all. In a broadcast the audience sees the presenters,
   * moderators and whoever is on stage, not each other: thousands of viewers must not cost each
   * viewer thousands of join/leave messages. Staff see everyone.
   */
  sees(observer: Participant, subject: Participant): boolean {
    if (!this.fanOut) return true;
    const staff = (p: Participant) => p.publishesByRole || p.can('moderate') || p.onStage;
    return staff(observer) || staff(subject);
  }

  /** Tells everyone who sees `subject` (optionally `subject` too) about it. */
  notifyAbout<N extends NotificationName>(subject: Participant, name: N, payload: NotificationMap[N], includeSubject = false): void {
    for (const p of this.#participants.values()) {
      if ((p !== subject || includeSubject) && (p === subject || this.sees(p, subject))) p.notify(name, payload);
    }
  }

  /**
   * Writes the event of an action to the room's audit trail before the action takes effect (and tells
   * observers). Throws UNAVAILABLE if the trail cannot take it: the caller has changed nothing yet, so
   * the action is refused and nobody is told of it. No consultation without its trail (issue #10):
   *
   * - Refused when their event cannot be written (written first, done after): entering (joining,
   *   waiting in the lobby), admitting from the lobby, chat, raising a hand, publishing, questions
   *   asked and moderated, bringing someone on stage, allowing an unmute, locking and unlocking,
   *   starting a recording and acknowledging one. What is said, shown or granted goes on record or
   *   does not happen.
   * - Not refused (`auditFact`: logged, counted, and the gap noted in the trail once it can be written
   *   again): what has already happened — leaving, reconnecting and resuming, a producer closing, the
   *   room closing, HLS output starting or ending — and what a chair must be able to do exactly when
   *   the record is in trouble, each taking something away rather than adding to what is said: muting,
   *   stopping a screen share, removing someone, lowering a hand, sending off stage, declining a
   *   lobby waiter, ending the consultation.
   */
  audit(type: AuditType, actor?: Participant, subject?: Participant, data?: AuditData): void {
    const event = auditEvent(type, actor, subject, data);
    try {
      this.caseRecord.append(event);
    } catch (error) {
      throw error instanceof ProtocolError ? error : recordUnavailable('this was not done');
    }
    this.emit('audit', event);
  }

  /** Writes the event of something that has happened (or may not be refused); never throws (see `audit`). */
  auditFact(type: AuditType, actor?: Participant, subject?: Participant, data?: AuditData): void {
    const event = auditEvent(type, actor, subject, data);
    try {
      this.caseRecord.append(event, 'fact');
    } catch (error) {
      this.#log.error({ err: error, type }, 'audit event lost: the trail could not be written');
      return;
    }
    this.emit('audit', event);
  }

  /** Ends the room for everyone (a moderator's "end consultation", shutdown, or a dead worker). */
  close(reason: LeaveReason = 'room_closed', message = 'the room was closed', by?: Participant, note?: AuditData): void {
    if (this.#closed) return;
    // Taken before anything stops: the lock and the recording as they were go with the room.
    if (reason === 'room_moved') this.#movedWith = this.#carried();
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
    if (reason === 'room_ended') {
      this.#memory.ended = true;
      this.emit('memoryChanged');
    }
    this.audience.close();
    this.#quality.close();
    this.fanOut?.close();
    this.auditFact(reason === 'room_ended' ? 'room_ended' : 'room_closed', by, undefined, { message, ...note });
    for (const p of [...this.#lobby.all(), ...this.#participants.values()]) p.close(reason, message);
    this.#grace.cancelAll();
    this.router.close();
    this.#log.info({ reason }, 'room closed');
    this.emit('closed');
  }

  #admit(participant: Participant): void {
    this.#admitting = true; // replacing the only participant must not close the room under us
    try {
      for (const other of [...this.#participants.values()]) {
        if (other.info.identity === participant.info.identity)
          other.close('replaced', 'you joined this room from another window or device');
      }
    } finally {
      this.#admitting = false;
    }
    try {
      this.audit('participant_joined', participant); // refused here: not in the room, nobody told
    } catch (error) {
      if (this.#participants.size === 0) this.#lingerOrClose(); // it may have replaced the only one
      throw error;
    }
    for (const source of this.#memory.mutes.get(participant.info.identity) ?? []) participant.markMuted(source);
    this.#participants.set(participant.id, participant);
    this.#stopLingering();
    participant.once('closed', (reason) => this.#onParticipantClosed(participant, reason));
    participant.admit();
    this.notifyAbout(participant, 'participantJoined', { participant: participant.info });
    this.#log.info(
      {
        participant: participant.id,
        identity: pseudonym(participant.info.identity),
        role: participant.info.role,
        site: participant.info.site.id,
      },
      'participant joined',
    );
    this.caseRecord.participantJoined(participant);
    this.emit('participantJoined', participant);
    // Moderators arriving see who is already waiting.
    if (participant.can('moderate') && this.#lobby.size > 0) participant.notify('lobbyChanged', { waiting: this.#lobby.list() });
  }

  #takeWaiting(id: string): Participant {
    const participant = this.#lobby.take(id);
    if (!participant) throw wrongState('that person is no longer waiting in the lobby');
    return participant;
  }

  #notifyModerators<N extends NotificationName>(name: N, payload: NotificationMap[N]): void {
    for (const p of this.#participants.values()) if (p.can('moderate')) p.notify(name, payload);
  }

  #onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    if (this.#participants.get(participant.id) !== participant) return;
    this.#participants.delete(participant.id);
    this.#grace.cancel(participant.id);
    this.media.release(participant);
    this.#log.info({ participant: participant.id, reason }, 'participant left');
    this.notifyAbout(participant, 'participantLeft', { participantId: participant.id, reason });
    this.auditFact('participant_left', participant, undefined, { reason });
    this.emit('participantLeft', participant, reason);
    if (this.#activeSpeakerId === participant.id) this.#setActiveSpeaker(null);
    if (this.#participants.size === 0 && !this.#admitting) this.#lingerOrClose();
  }

  /**
   * The room is empty: close it once it has stayed empty for the linger. Someone coming back meanwhile
   * (a reload, a reconnect after the grace period, a quick return) finds the same room, chat and trail
   * instead of a new room and a new case-record entry each time.
   */
  #lingerOrClose(): void {
    const seconds = this.options.emptyLingerSeconds;
    if (seconds <= 0) return this.close();
    this.#stopLingering();
    this.#lingerTimer = setTimeout(() => this.close('room_closed', `the room was empty for ${seconds} s`), seconds * 1000);
    this.#lingerTimer.unref();
  }

  #stopLingering(): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
  }

  #setActiveSpeaker(participantId: string | null): void {
    if (participantId === this.#activeSpeakerId) return;
    this.#activeSpeakerId = participantId;
    this.notifyOthers(null, 'activeSpeaker', { participantId });
  }
}
