/**
 * One person in one room: the identity from the token, the permissions of their role in this kind of
 * room, and the media objects they own. Closing a participant closes their transports, which closes
 * their producers and consumers in cascade (mediasoup does that); the maps forget each object when
 * its own close fires, so no path can leave a stale entry behind.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { types } from 'mediasoup';
import {
  forbidden,
  notFound,
  PUBLISH_PERMISSIONS,
  wrongState,
  permissionsFor,
  ProtocolError,
  type LeaveReason,
  type MediaSource,
  type NotificationMap,
  type NotificationName,
  type ParticipantInfo,
  type Permission,
  type ProducerInfo,
} from '../../signaling/protocol/index.js';
import type { Principal } from '../auth/TokenVerifier.js';

/** How the room reaches this participant's client; the signaling layer provides it. */
export interface ParticipantChannel {
  notify<N extends NotificationName>(name: N, payload: NotificationMap[N]): void;
  /** The session is over for a reason other than the participant's own leave. */
  end(reason: LeaveReason, message: string): void;
  /** Drops the connection without a word: it was superseded by a resumed one. */
  close(): void;
}

export interface PublishedTrack {
  producer: types.Producer;
  source: MediaSource;
}

interface ParticipantEvents {
  closed: [reason: LeaveReason];
}

/**
 * Where a participant is in its life. `waiting`: created, or parked in a locked room's lobby;
 * `joined`: in the room proper; `suspended`: its signaling dropped and it is kept for the grace
 * period (media keeps flowing); `closed`: gone for good. Only the methods below move it.
 */
export type ParticipantState = 'waiting' | 'joined' | 'suspended' | 'closed';

/**
 * Most tracks one participant receives at once: every source (microphone, camera, screen) of 100
 * publishing participants, far beyond any consultation or stage, and a wall for a client that
 * consumes in a loop. Consumers of closed producers do not count.
 */
export const MAX_CONSUMERS = 300;

/** Sources a moderator can mute; a screen share is stopped instead. */
export type MutableSource = 'microphone' | 'camera';
const isMutable = (source: MediaSource): source is MutableSource => source !== 'screen';

export class Participant extends EventEmitter<ParticipantEvents> {
  readonly id = randomUUID();
  readonly principal: Principal;
  readonly info: ParticipantInfo;
  readonly #basePermissions: ReadonlySet<Permission>;
  /** Temporary grants (e.g. publishing while on stage), on top of the role's permissions. */
  readonly #grants = new Set<Permission>();
  /** Sources a moderator muted; the participant may not resume or re-publish them until allowed. */
  readonly #mutedByModerator = new Set<MutableSource>();
  #handRaised = false;
  readonly #resumeToken = randomBytes(24).toString('base64url');
  #channel: ParticipantChannel;
  #state: ParticipantState = 'waiting';
  readonly #transports = new Map<string, types.WebRtcTransport>();
  readonly #producers = new Map<string, PublishedTrack>();
  readonly #consumers = new Map<string, types.Consumer>();
  /** Which consumer receives each producer: one per producer, so a client cannot pile up copies. */
  readonly #consumerOfProducer = new Map<string, string>();
  #rtpCapabilities: types.RtpCapabilities | undefined;

  constructor(principal: Principal, channel: ParticipantChannel) {
    super();
    this.principal = principal;
    this.#channel = channel;
    this.#basePermissions = permissionsFor(principal.kind, principal.role);
    this.publishesByRole = PUBLISH_PERMISSIONS.some((p) => this.#basePermissions.has(p));
    this.info = {
      id: this.id,
      identity: principal.sub,
      displayName: principal.name,
      role: principal.role,
      site: principal.site,
      joinedAt: new Date().toISOString(),
    };
  }

  get state(): ParticipantState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** In the room proper (joined, or suspended while its connection is away). */
  get admitted(): boolean {
    return this.#state === 'joined' || this.#state === 'suspended';
  }

  /** waiting → joined: entered the room proper (at once, or when admitted from the lobby). */
  admit(): void {
    if (this.#state !== 'waiting') throw wrongState(`cannot admit a participant who is ${this.#state}`);
    this.#state = 'joined';
  }

  get connected(): boolean {
    return this.#state === 'joined' || this.#state === 'waiting';
  }

  get resumeToken(): string {
    return this.#resumeToken;
  }

  /** True when `token` is this participant's resume secret (constant-time comparison). */
  matchesResumeToken(token: string): boolean {
    const a = Buffer.from(token);
    const b = Buffer.from(this.#resumeToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** joined → suspended: the signaling socket dropped; notifications are dropped until `resume`. */
  suspend(): void {
    if (this.#state !== 'joined') throw wrongState(`cannot suspend a participant who is ${this.#state}`);
    this.#state = 'suspended';
  }

  /**
   * joined | suspended → joined: a new socket proved it is this participant; notifications go there
   * from now on. Returns the connection it replaces.
   */
  resume(channel: ParticipantChannel): ParticipantChannel {
    if (!this.admitted) throw wrongState('that session is over; join again');
    const previous = this.#channel;
    this.#channel = channel;
    this.#state = 'joined';
    return previous;
  }

  /** Whether `channel` is the connection this participant speaks through now. */
  attachedTo(channel: ParticipantChannel): boolean {
    return this.#channel === channel;
  }

  get permissions(): ReadonlySet<Permission> {
    return this.#grants.size === 0 ? this.#basePermissions : new Set([...this.#basePermissions, ...this.#grants]);
  }

  get onStage(): boolean {
    return this.#grants.size > 0;
  }

  can(permission: Permission): boolean {
    return this.#basePermissions.has(permission) || this.#grants.has(permission);
  }

  /** True when the role itself may publish something (presenters), not by a temporary grant. */
  readonly publishesByRole: boolean;

  grant(permissions: readonly Permission[]): void {
    for (const p of permissions) if (!this.#basePermissions.has(p)) this.#grants.add(p);
  }

  revokeGrants(): void {
    this.#grants.clear();
  }

  /** Closes every producer of these sources (e.g. when sent off stage). */
  closeProducers(sources: readonly MediaSource[]): void {
    for (const track of [...this.#producers.values()]) if (sources.includes(track.source)) track.producer.close();
  }

  get handRaised(): boolean {
    return this.#handRaised;
  }

  /** Returns false when the hand already was in that position. */
  setHandRaised(raised: boolean): boolean {
    if (this.#handRaised === raised) return false;
    this.#handRaised = raised;
    return true;
  }

  /** Sources a moderator has muted and not yet allowed to unmute. */
  mutedSources(): MutableSource[] {
    return [...this.#mutedByModerator];
  }

  isMutedByModerator(source: MediaSource): boolean {
    return isMutable(source) && this.#mutedByModerator.has(source);
  }

  /** Marks `source` muted by a moderator; returns false if it already was. */
  markMuted(source: MutableSource): boolean {
    if (this.#mutedByModerator.has(source)) return false;
    this.#mutedByModerator.add(source);
    return true;
  }

  /** Lifts a moderator's mute; returns false if `source` was not muted. */
  allowUnmute(source: MutableSource): boolean {
    return this.#mutedByModerator.delete(source);
  }

  /** Throws FORBIDDEN while a moderator's mute holds `source`: it may not be resumed or re-published. */
  mayResume(source: MediaSource): void {
    if (this.isMutedByModerator(source)) throw forbidden(`your ${source} was muted by a moderator; ask them to allow you to unmute`);
  }

  /** Throws FORBIDDEN naming the role and what it may not do. */
  ensure(permission: Permission, what: string): void {
    if (!this.can(permission)) throw forbidden(`a ${this.info.role} may not ${what} in a ${this.principal.kind} room`);
  }

  get rtpCapabilities(): types.RtpCapabilities | undefined {
    return this.#rtpCapabilities;
  }

  setRtpCapabilities(caps: types.RtpCapabilities): void {
    this.#rtpCapabilities = caps;
  }

  notify<N extends NotificationName>(name: N, payload: NotificationMap[N]): void {
    if (this.connected) this.#channel.notify(name, payload);
  }

  addTransport(transport: types.WebRtcTransport): void {
    this.#ensureOpen();
    this.#transports.set(transport.id, transport);
    transport.observer.once('close', () => this.#transports.delete(transport.id));
  }

  transport(id: string): types.WebRtcTransport {
    const transport = this.#transports.get(id);
    if (!transport) throw notFound(`no transport ${id} for this participant`);
    return transport;
  }

  get transportCount(): number {
    return this.#transports.size;
  }

  addProducer(producer: types.Producer, source: MediaSource): void {
    this.#ensureOpen();
    this.#producers.set(producer.id, { producer, source });
    producer.observer.once('close', () => this.#producers.delete(producer.id));
  }

  producer(id: string): PublishedTrack {
    const track = this.#producers.get(id);
    if (!track) throw notFound(`no producer ${id} published by this participant`);
    return track;
  }

  findProducer(id: string): PublishedTrack | undefined {
    return this.#producers.get(id);
  }

  producersOf(source: MediaSource): PublishedTrack[] {
    return [...this.#producers.values()].filter((t) => t.source === source);
  }

  hasSource(source: MediaSource): boolean {
    for (const track of this.#producers.values()) if (track.source === source) return true;
    return false;
  }

  producerInfos(): ProducerInfo[] {
    return [...this.#producers.values()].map(({ producer, source }) => ({
      id: producer.id,
      participantId: this.id,
      kind: producer.kind,
      source,
      paused: producer.paused,
    }));
  }

  /**
   * Throws unless this participant may receive `producerId` now: not already receiving it (WRONG_STATE)
   * and under MAX_CONSUMERS (TOO_MANY_REQUESTS).
   */
  mayConsume(producerId: string): void {
    const existing = this.#consumerOfProducer.get(producerId);
    if (existing) throw wrongState(`you already receive producer ${producerId} (consumer ${existing}); one consumer per track`);
    if (this.#consumers.size >= MAX_CONSUMERS) {
      throw new ProtocolError('TOO_MANY_REQUESTS', `at most ${MAX_CONSUMERS} tracks received at once per participant`);
    }
  }

  /** Keeps `consumer` of `producerId`; checks `mayConsume` again, as it was made after an await. */
  addConsumer(consumer: types.Consumer, producerId: string): void {
    this.#ensureOpen();
    this.mayConsume(producerId);
    this.#consumers.set(consumer.id, consumer);
    this.#consumerOfProducer.set(producerId, consumer.id);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
      if (this.#consumerOfProducer.get(producerId) === consumer.id) this.#consumerOfProducer.delete(producerId);
    });
  }

  get consumerCount(): number {
    return this.#consumers.size;
  }

  /** Their media objects as they are now, to read statistics from (operators' view); not to change. */
  media(): { transports: types.WebRtcTransport[]; producers: types.Producer[]; consumers: types.Consumer[] } {
    return {
      transports: [...this.#transports.values()],
      producers: [...this.#producers.values()].map((t) => t.producer),
      consumers: [...this.#consumers.values()],
    };
  }

  consumer(id: string): types.Consumer {
    const consumer = this.#consumers.get(id);
    if (!consumer) throw notFound(`no consumer ${id} for this participant`);
    return consumer;
  }

  /** Media made for a participant who left while it was being made must not be kept. */
  #ensureOpen(): void {
    if (this.closed) throw wrongState('you are no longer in this room');
  }

  /** Closes everything this participant owns. Safe to call more than once. */
  close(reason: LeaveReason, message?: string): void {
    if (this.closed) return;
    if (reason !== 'left' && reason !== 'disconnected' && this.connected) this.#channel.end(reason, message ?? reason);
    this.#state = 'closed';
    for (const transport of this.#transports.values()) transport.close();
    this.emit('closed', reason);
  }
}
