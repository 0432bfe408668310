/**
 * One ingest: the right of one encoder to publish a programme into one broadcast or training room,
 * proved by a secret token (WHIP bearer token or RTMP stream key) that expires and can be revoked.
 *
 * While a programme runs the encoder is in the room as an ordinary presenter (a Participant named by
 * the ingest), so viewers, recording, HLS and the stage treat it like any presenter. The programme
 * goes waiting → live; an encoder that drops goes reconnecting, and if it comes back within the grace
 * period it goes live again as the same presenter (viewers never see it leave); otherwise, or on
 * DELETE, revocation, expiry or a moderator's removal, it ends.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  forbidden,
  wrongState,
  type IngestHealth,
  type IngestInfo,
  type IngestProtocol,
  type IngestState,
  type LeaveReason,
  type RoomKind,
  type Site,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { Participant, type ParticipantChannel } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { IngestRecord } from './IngestDirectory.js';

export interface IngestSpec {
  room: { id: string; kind: RoomKind; caseId: string | undefined };
  protocol: IngestProtocol;
  name: string;
  site: Site;
  createdBy: string;
  ttlSeconds: number;
  /** Where the encoder sends (without the secret). */
  url: string;
}

export interface IngestDeps {
  rooms: RoomRegistry;
  /**
   * Makes sure the room is served on this node before the presenter enters it (clustered: holds its
   * lease); rejects if another node serves it, where the programme cannot be run from here.
   */
  claim: (roomId: string) => Promise<void>;
  /** How long a dropped encoder is waited for before its programme ends. */
  graceMs: number;
  log: Logger;
}

/** What carries the encoder's media (a WHIP session, an RTMP relay); closed when the programme ends. */
export interface IngestMedia {
  /** The programme ended: stop what belongs to it (the RTMP listener itself may stay). */
  endProgramme(): void;
  readonly videoMode: IngestHealth['videoMode'];
  /** Processes working for this programme (RTMP's FFmpegs), for the CPU benchmark. */
  pids?(): number[];
}

export interface OnStage {
  room: Room;
  participant: Participant;
}

interface IngestEvents {
  /** State or health changed: moderators are told. */
  changed: [];
  /** Revoked or expired: the ingest is gone for good. */
  closed: [];
}

const hash = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Whether `token` is the secret whose hash is `tokenHash` (constant time). */
const proves = (token: string, tokenHash: Buffer): boolean => tokenHash.length === 32 && timingSafeEqual(hash(token), tokenHash);

/** The same check for an ingest kept by the cluster (IngestRecord), with its expiry. */
export function recordAccepts(record: IngestRecord, token: string): boolean {
  return Date.now() < Date.parse(record.info.expiresAt) && proves(token, Buffer.from(record.tokenHash, 'hex'));
}

/** Who an ingest is across nodes: the same id, lifetime and token wherever its encoder arrives. */
interface Identity {
  id: string;
  createdAt: Date;
  expiresAt: Date;
  tokenHash: Buffer;
}

export class Ingest extends EventEmitter<IngestEvents> {
  readonly id: string;
  readonly spec: IngestSpec;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly #tokenHash: Buffer;
  /** When the state last changed here (ms): compared with what another node wrote (IngestRecord). */
  #changedAt = Date.now();
  readonly #deps: IngestDeps;
  readonly #log: Logger;
  #state: IngestState = 'waiting';
  #presence: OnStage | null = null;
  #entering: Promise<OnStage> | null = null;
  #grace: NodeJS.Timeout | undefined;
  #expiry: NodeJS.Timeout;
  #closed = false;
  #media: IngestMedia | null = null;
  health: IngestHealth | null = null;

  private constructor(spec: IngestSpec, identity: Identity, deps: IngestDeps) {
    super();
    this.spec = spec;
    this.id = identity.id;
    this.createdAt = identity.createdAt;
    this.expiresAt = identity.expiresAt;
    this.#tokenHash = identity.tokenHash;
    this.#deps = deps;
    this.#log = deps.log.child({ ingest: this.id, room: spec.room.id });
    // setTimeout takes at most 2^31-1 ms (24.8 days); tokens live a week at most.
    this.#expiry = setTimeout(() => this.close('the ingest token expired'), Math.max(0, this.expiresAt.getTime() - Date.now()));
    this.#expiry.unref();
  }

  /** A new ingest and its secret (shown once: only its hash is kept). */
  static create(spec: IngestSpec, deps: IngestDeps): { ingest: Ingest; token: string } {
    if (spec.room.kind !== 'broadcast' && spec.room.kind !== 'training')
      throw forbidden(`an encoder can publish only into a broadcast or training room, not a ${spec.room.kind} room`);
    const token = randomBytes(24).toString('base64url');
    const createdAt = new Date();
    const identity = {
      id: randomUUID(),
      createdAt,
      expiresAt: new Date(createdAt.getTime() + spec.ttlSeconds * 1000),
      tokenHash: hash(token),
    };
    return { ingest: new Ingest(spec, identity, deps), token };
  }

  /** An ingest another node created, here because its encoder arrived here (clustered). */
  static fromRecord(record: IngestRecord, deps: IngestDeps): Ingest {
    const { info } = record;
    const spec: IngestSpec = {
      room: { id: info.room, kind: record.roomKind, caseId: record.caseId ?? undefined },
      protocol: info.protocol,
      name: info.name,
      site: info.site,
      createdBy: info.createdBy,
      ttlSeconds: record.ttlSeconds,
      url: info.url,
    };
    const identity = {
      id: info.id,
      createdAt: new Date(info.createdAt),
      expiresAt: new Date(info.expiresAt),
      tokenHash: Buffer.from(record.tokenHash, 'hex'),
    };
    return new Ingest(spec, identity, deps);
  }

  /** What the cluster keeps of it (IngestDirectory). */
  record(): IngestRecord {
    const { health: _health, ...info } = this.info();
    const { room } = this.spec;
    return {
      info,
      roomKind: room.kind,
      caseId: room.caseId ?? null,
      ttlSeconds: this.spec.ttlSeconds,
      tokenHash: this.#tokenHash.toString('hex'),
      changedAt: this.#changedAt,
    };
  }

  get state(): IngestState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** RTMP: whether video is passed through or re-encoded; null for WHIP or without media. */
  get videoMode(): IngestHealth['videoMode'] {
    return this.#media?.videoMode ?? null;
  }

  /** What carries the programme now, if it runs. */
  get media(): IngestMedia | null {
    return this.#media;
  }

  get presence(): OnStage | null {
    return this.#presence;
  }

  /** True when `token` is this ingest's secret and the ingest is still valid (constant time). */
  accepts(token: string): boolean {
    return !this.#closed && Date.now() < this.expiresAt.getTime() && proves(token, this.#tokenHash);
  }

  info(): IngestInfo {
    const { spec } = this;
    return {
      id: this.id,
      room: spec.room.id,
      protocol: spec.protocol,
      name: spec.name,
      site: spec.site,
      state: this.#state,
      createdAt: this.createdAt.toISOString(),
      expiresAt: this.expiresAt.toISOString(),
      createdBy: spec.createdBy,
      participantId: this.#presence?.participant.id ?? null,
      url: spec.url,
      health: this.health,
    };
  }

  /** The presenter of this programme, entering the room (opening it if needed) the first time. */
  onStage(): Promise<OnStage> {
    if (this.#closed) return Promise.reject(wrongState('this ingest was revoked or has expired'));
    if (this.#presence && !this.#presence.participant.closed) return Promise.resolve(this.#presence);
    this.#entering ??= this.#enter().finally(() => (this.#entering = null));
    return this.#entering;
  }

  async #enter(): Promise<OnStage> {
    const { spec } = this;
    await this.#deps.claim(spec.room.id);
    let room = await this.#deps.rooms.getOrCreate(spec.room);
    if (room.closed) room = await this.#deps.rooms.getOrCreate(spec.room);
    const channel: ParticipantChannel = {
      notify: () => undefined, // the encoder has no one to read the room's news
      end: (reason, message) => this.#log.info({ reason, message }, 'the ingest presenter was ended by the room'),
      close: () => undefined,
    };
    const participant = new Participant(
      {
        sub: `ingest:${this.id}`,
        name: spec.name,
        role: 'presenter',
        site: spec.site,
        room: spec.room.id,
        kind: spec.room.kind,
        caseId: spec.room.caseId,
      },
      channel,
    );
    if (room.enter(participant) !== 'joined') {
      participant.close('left');
      throw wrongState('the room is locked and the ingest presenter could not enter it');
    }
    const presence = { room, participant };
    this.#presence = presence;
    participant.once('closed', (reason) => this.#presenceClosed(presence, reason));
    this.#log.info({ participant: participant.id }, 'ingest presenter entered the room');
    // A new presenter, on this node: newer than anything another node wrote (one that died while the
    // programme ran there left it "live" with its own presenter).
    this.#changedAt = Date.now();
    this.emit('changed');
    return presence;
  }

  /** The media of this programme; the previous one (an encoder's earlier session) is ended first. */
  attach(media: IngestMedia): void {
    if (this.#media && this.#media !== media) this.#media.endProgramme();
    this.#media = media;
  }

  /** Media arrives (again): live, and any grace period is over. */
  live(): void {
    if (this.#closed) return;
    clearTimeout(this.#grace);
    this.#grace = undefined;
    this.#setState('live');
  }

  /** The encoder went away without saying goodbye: keep the presenter for the grace period. */
  dropped(why: string): void {
    if (this.#state !== 'live') return;
    this.#log.warn({ why, graceMs: this.#deps.graceMs }, 'ingest encoder dropped; waiting for it to come back');
    this.#setState('reconnecting');
    this.#grace = setTimeout(
      () => this.endProgramme(`the encoder did not come back within ${this.#deps.graceMs / 1000} s`),
      this.#deps.graceMs,
    );
    this.#grace.unref();
  }

  /** The programme is over: the presenter leaves, the media stops. The ingest stays usable until closed. */
  endProgramme(why: string): void {
    clearTimeout(this.#grace);
    this.#grace = undefined;
    const media = this.#media;
    this.#media = null;
    media?.endProgramme();
    const presence = this.#presence;
    this.#presence = null;
    presence?.participant.close('left');
    if (this.#state !== 'waiting' || presence) {
      this.#log.info({ why }, 'ingest programme ended');
      this.health = null;
      this.#setState('ended');
    }
  }

  /** Revoked or expired: the token stops working and a running programme ends. */
  close(why: string): void {
    if (this.#closed) return;
    this.endProgramme(why);
    this.#closed = true;
    clearTimeout(this.#expiry);
    this.#log.info({ why }, 'ingest closed');
    this.emit('closed');
  }

  #presenceClosed(presence: OnStage, reason: LeaveReason): void {
    if (this.#presence !== presence) return;
    // Removed by a moderator, or the room closed: the programme cannot go on in it.
    this.endProgramme(`the presenter left the room (${reason})`);
  }

  #setState(state: IngestState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#changedAt = Date.now();
    this.emit('changed');
  }
}
