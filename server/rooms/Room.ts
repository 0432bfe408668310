/**
 * A room is one consultation (or follow-up, broadcast, training session) on one mediasoup router.
 * It keeps who is in it and who waits in its lobby, tells everyone when people and tracks come and
 * go, follows who is speaking, and reports every step for the audit trail. It closes when its last
 * participant leaves, when a moderator ends it, or when its worker dies, closing everything beneath
 * it once.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import {
  forbidden,
  wrongState,
  type Actor,
  type JoinResult,
  type LeaveReason,
  type MediaSource,
  type NotificationMap,
  type NotificationName,
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
import { ChatLog } from './ChatLog.js';
import { FanOut, type MediaHome } from './FanOut.js';
import { GraceTimers } from './GraceTimers.js';
import { Lobby } from './Lobby.js';
import type { RoomMemory } from './RoomMemory.js';
import type { Participant, ParticipantChannel, PublishedTrack } from './Participant.js';

export interface RoomDescriptor {
  id: string;
  kind: RoomKind;
  caseId: string | undefined;
}

export interface RoomOptions {
  /** How long a participant whose signaling dropped is kept before the others are told they left. */
  reconnectGraceSeconds: number;
  /** Broadcast/training: consumers a viewer router takes before the next router (next core) is used. */
  consumersPerRouter: number;
  /** Broadcast/training: minimum gap between key-frame requests forwarded to a presenter. */
  keyFrameRequestDelayMs: number;
}

/** Rooms with a large receive-only audience spread over every worker. */
const FAN_OUT_KINDS: ReadonlySet<RoomKind> = new Set(['broadcast', 'training']);

interface RoomEvents {
  closed: [];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  producerAdded: [owner: Participant, producer: types.Producer, source: MediaSource];
  audit: [event: RoomAuditEvent];
}

export interface ProducerAppData extends types.AppData {
  participantId: string;
  source: MediaSource;
}

export const actorOf = (p: Participant): Actor => ({ participantId: p.id, displayName: p.info.displayName });

export class Room extends EventEmitter<RoomEvents> {
  readonly id: string;
  readonly kind: RoomKind;
  readonly caseId: string | undefined;
  readonly router: types.Router;
  readonly workerIndex: number;
  /** The worker's single-port media endpoint every transport of this room uses. */
  readonly webRtcServer: types.WebRtcServer;
  readonly chat = new ChatLog();
  readonly audience: Audience;
  /** Viewer routers on every worker; only in broadcast and training rooms. */
  readonly fanOut: FanOut | undefined;
  readonly options: RoomOptions;
  /** Set while the room is also streamed as HLS. */
  hlsUrl: string | null = null;
  /** Set while the room is being recorded into the case record. */
  recording: RecordingInfo | null = null;
  readonly #participants = new Map<string, Participant>();
  readonly #lobby = new Lobby(() => this.#notifyModerators('lobbyChanged', { waiting: this.#lobby.list() }));
  readonly #memory: RoomMemory;
  readonly #grace = new GraceTimers();
  readonly #speakerObserver: types.ActiveSpeakerObserver;
  readonly #log: Logger;
  #activeSpeakerId: string | null = null;
  #locked = false;
  #closed = false;
  #admitting = false;

  private constructor(desc: RoomDescriptor, router: types.Router, host: MediaWorker, observer: types.ActiveSpeakerObserver, pool: WorkerPool, options: RoomOptions, memory: RoomMemory, log: Logger) {
    super();
    this.#memory = memory;
    this.id = desc.id;
    this.kind = desc.kind;
    this.caseId = desc.caseId;
    this.router = router;
    this.workerIndex = host.index;
    this.webRtcServer = host.webRtcServer;
    this.#speakerObserver = observer;
    this.options = options;
    this.#log = log;
    this.audience = new Audience(this, FAN_OUT_KINDS.has(desc.kind));
    const origin = { router, webRtcServer: host.webRtcServer, workerIndex: host.index };
    this.fanOut = FAN_OUT_KINDS.has(desc.kind) ? new FanOut(origin, pool, options.consumersPerRouter, log) : undefined;
    observer.on('dominantspeaker', ({ producer }) => this.#setActiveSpeaker((producer.appData as ProducerAppData).participantId));
    // A dead worker takes the router with it: the room cannot go on, so it ends for everyone.
    router.observer.once('close', () => this.close('room_closed', 'the media server process for this room stopped; please rejoin'));
  }

  static async create(desc: RoomDescriptor, pool: WorkerPool, options: RoomOptions, memory: RoomMemory, log: Logger): Promise<Room> {
    if (memory.ended) throw wrongState('this consultation was ended by its lead; a new one needs a new room');
    const { router, host } = await pool.createRouter(MEDIA_CODECS);
    try {
      const observer = await router.createActiveSpeakerObserver({ interval: 300 });
      const room = new Room(desc, router, host, observer, pool, options, memory, log.child({ room: desc.id }));
      room.#log.info({ kind: desc.kind, caseId: desc.caseId, worker: host.index }, 'room opened');
      return room;
    } catch (error) {
      router.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#participants.size;
  }

  get locked(): boolean {
    return this.#locked;
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

  waiting(): ParticipantInfo[] {
    return this.#lobby.list();
  }

  producerInfos(except?: Participant): ProducerInfo[] {
    return this.participants().filter((p) => p !== except).flatMap((p) => p.producerInfos());
  }

  /** Everything a participant needs to render the room, on join, admission or resume. */
  snapshotFor(participant: Participant): JoinResult {
    return {
      room: { id: this.id, kind: this.kind, caseId: this.caseId ?? null },
      self: participant.info,
      permissions: [...participant.permissions],
      participants: this.participants().filter((p) => p !== participant && this.sees(participant, p)).map((p) => p.info),
      producers: this.producerInfos(participant),
      activeSpeakerId: this.#activeSpeakerId,
      roomLocked: this.#locked,
      raisedHands: this.participants().filter((p) => p.handRaised).map((p) => p.id),
      mutedByModerator: [...participant.mutedByModerator],
      chat: this.chat.history(),
      questions: this.audience.questionsFor(participant),
      onStage: this.audience.onStage(),
      viewerCount: this.audience.viewerCount,
      hlsUrl: this.hlsUrl,
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
    if (this.#memory.banned.has(participant.info.identity)) throw forbidden('you were removed from this consultation by its moderator');
    this.#lobby.findIdentity(participant.info.identity)?.close('replaced', 'you joined this room from another window or device');
    if (this.#locked && !participant.can('bypass_lobby')) {
      this.#lobby.add(participant);
      this.audit('lobby_waiting', participant);
      return 'waiting';
    }
    this.#admit(participant);
    return 'joined';
  }

  setLocked(locked: boolean, by: Participant): void {
    if (this.#locked === locked) return;
    this.#locked = locked;
    this.notifyOthers(null, 'roomLocked', { locked, by: actorOf(by) });
    this.audit(locked ? 'room_locked' : 'room_unlocked', by);
  }

  admitFromLobby(id: string, by: Participant): void {
    const participant = this.#takeWaiting(id);
    this.audit('lobby_admitted', by, participant);
    this.#admit(participant);
    participant.notify('admitted', this.snapshotFor(participant));
  }

  declineFromLobby(id: string, by: Participant): void {
    const participant = this.#takeWaiting(id);
    this.audit('lobby_declined', by, participant);
    participant.close('declined', `${by.info.displayName} did not admit you to this consultation`);
  }

  /** Removes a participant; `ban` keeps their identity out of this room from now on. */
  remove(participant: Participant, reason: LeaveReason, message?: string, ban = false): void {
    if (ban) this.#memory.banned.add(participant.info.identity);
    participant.close(reason, message);
  }

  /** The participant's signaling dropped: keep them (media keeps flowing) for the grace period. */
  suspend(participant: Participant): void {
    if (participant.closed || !this.#participants.has(participant.id)) return participant.close('disconnected');
    participant.detach();
    this.notifyAbout(participant, 'participantConnection', { participantId: participant.id, state: 'reconnecting' });
    this.audit('participant_reconnecting', participant);
    this.#grace.start(participant.id, this.options.reconnectGraceSeconds * 1000, () => participant.close('disconnected'));
  }

  /** A new socket proved it is `participant`: reattach and hand it the current state. */
  resume(participant: Participant, channel: ParticipantChannel): JoinResult {
    if (participant.closed || this.#participants.get(participant.id) !== participant) throw wrongState('that session is over; join again');
    if (this.#memory.banned.has(participant.info.identity)) throw forbidden('you were removed from this consultation by its moderator');
    this.#grace.cancel(participant.id);
    // The old socket may not have noticed its own death yet (the client saw it first): close it, so
    // it can neither act as this participant nor suspend them when its disconnect finally arrives.
    const wasSuspended = !participant.connected;
    const previous = participant.reattach(channel);
    if (previous !== channel) previous.close();
    if (wasSuspended) this.notifyAbout(participant, 'participantConnection', { participantId: participant.id, state: 'connected' });
    this.audit('participant_resumed', participant);
    return this.snapshotFor(participant);
  }

  setHandRaised(participant: Participant, raised: boolean, by: Participant): void {
    if (participant.handRaised === raised) return;
    participant.handRaised = raised;
    this.notifyAbout(participant, 'handRaised', { participantId: participant.id, raised }, true);
    this.audit(raised ? 'hand_raised' : 'hand_lowered', by, by === participant ? undefined : participant);
  }

  /**
   * Where `participant` receives media. In fan-out rooms the audience (everyone whose role does not
   * publish) is placed on viewer routers across the workers; presenters stay on the origin router.
   */
  async receiveHome(participant: Participant): Promise<MediaHome> {
    if (!this.fanOut || participant.publishesByRole) return { router: this.router, webRtcServer: this.webRtcServer, workerIndex: this.workerIndex };
    if (!participant.placement) {
      const placement = await this.fanOut.place(this.producerInfos(participant).length);
      // Left while being placed: give the seat back rather than keep it for no one.
      if (participant.closed) {
        this.fanOut.release(placement);
        throw wrongState('you are no longer in this room');
      }
      participant.placement = placement;
    }
    return participant.placement.home;
  }

  /** Registers a new producer: others are told, audio feeds the active-speaker observer. */
  publish(owner: Participant, producer: types.Producer, source: MediaSource): void {
    owner.addProducer(producer, source);
    if (producer.kind === 'audio') {
      this.#speakerObserver.addProducer({ producerId: producer.id }).catch((err: unknown) => this.#log.warn({ err }, 'active speaker observer'));
    }
    producer.observer.once('close', () => {
      this.notifyOthers(owner, 'producerClosed', { producerId: producer.id, participantId: owner.id });
      this.audit('unpublished', owner, undefined, { producerId: producer.id, source });
    });
    const info = owner.producerInfos().find((p) => p.id === producer.id);
    if (info) this.notifyOthers(owner, 'producerAdded', { producer: info });
    this.audit('published', owner, undefined, { producerId: producer.id, source, kind: producer.kind });
    this.emit('producerAdded', owner, producer, source);
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

  audit(type: AuditType, actor?: Participant, subject?: Participant, data?: AuditData): void {
    const event: RoomAuditEvent = { type };
    if (actor) event.actor = actorFromParticipant(actor.info);
    if (subject) event.subject = actorFromParticipant(subject.info);
    if (data) event.data = data;
    this.emit('audit', event);
  }

  /** Ends the room for everyone (a moderator's "end consultation", shutdown, or a dead worker). */
  close(reason: LeaveReason = 'room_closed', message = 'the room was closed', by?: Participant): void {
    if (this.#closed) return;
    this.#closed = true;
    if (reason === 'room_ended') this.#memory.ended = true;
    this.audience.close();
    this.fanOut?.close();
    this.audit(reason === 'room_ended' ? 'room_ended' : 'room_closed', by, undefined, { message });
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
        if (other.info.identity === participant.info.identity) other.close('replaced', 'you joined this room from another window or device');
      }
    } finally {
      this.#admitting = false;
    }
    this.#participants.set(participant.id, participant);
    participant.once('closed', (reason) => this.#onParticipantClosed(participant, reason));
    participant.markAdmitted();
    this.notifyAbout(participant, 'participantJoined', { participant: participant.info });
    this.audit('participant_joined', participant);
    this.#log.info({ participant: participant.id, identity: participant.info.identity, role: participant.info.role, site: participant.info.site.id }, 'participant joined');
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
    this.chat.forget(participant.id);
    if (participant.placement) this.fanOut?.release(participant.placement);
    this.#log.info({ participant: participant.id, reason }, 'participant left');
    this.notifyAbout(participant, 'participantLeft', { participantId: participant.id, reason });
    this.audit('participant_left', participant, undefined, { reason });
    this.emit('participantLeft', participant, reason);
    if (this.#activeSpeakerId === participant.id) this.#setActiveSpeaker(null);
    if (this.#participants.size === 0 && !this.#admitting) this.close();
  }

  #setActiveSpeaker(participantId: string | null): void {
    if (participantId === this.#activeSpeakerId) return;
    this.#activeSpeakerId = participantId;
    this.notifyOthers(null, 'activeSpeaker', { participantId });
  }
}
