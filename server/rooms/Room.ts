/**
 * A room is one consultation (or follow-up, broadcast, training session) on one mediasoup router.
 * It keeps who is in it, tells everyone when people and tracks come and go, and follows who is
 * speaking. It closes when its last participant leaves, or when its worker dies, closing everything
 * beneath it once.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type {
  LeaveReason,
  MediaSource,
  NotificationMap,
  NotificationName,
  ParticipantInfo,
  ProducerInfo,
  RoomKind,
} from '../../signaling/protocol/index.js';
import { wrongState } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { MEDIA_CODECS } from '../media/codecs.js';
import type { MediaWorker, WorkerPool } from '../media/WorkerPool.js';
import type { Participant, PublishedTrack } from './Participant.js';

export interface RoomDescriptor {
  id: string;
  kind: RoomKind;
  caseId: string | undefined;
}

interface RoomEvents {
  closed: [];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
}

export interface ProducerAppData extends types.AppData {
  participantId: string;
  source: MediaSource;
}

export class Room extends EventEmitter<RoomEvents> {
  readonly id: string;
  readonly kind: RoomKind;
  readonly caseId: string | undefined;
  readonly router: types.Router;
  readonly workerIndex: number;
  /** The worker's single-port media endpoint every transport of this room uses. */
  readonly webRtcServer: types.WebRtcServer;
  readonly #participants = new Map<string, Participant>();
  readonly #speakerObserver: types.ActiveSpeakerObserver;
  readonly #log: Logger;
  #activeSpeakerId: string | null = null;
  #closed = false;
  #admitting = false;

  private constructor(desc: RoomDescriptor, router: types.Router, host: MediaWorker, observer: types.ActiveSpeakerObserver, log: Logger) {
    super();
    this.id = desc.id;
    this.kind = desc.kind;
    this.caseId = desc.caseId;
    this.router = router;
    this.workerIndex = host.index;
    this.webRtcServer = host.webRtcServer;
    this.#speakerObserver = observer;
    this.#log = log;
    observer.on('dominantspeaker', ({ producer }) => this.#setActiveSpeaker((producer.appData as ProducerAppData).participantId));
    // A dead worker takes the router with it: the room cannot go on, so it ends for everyone.
    router.observer.once('close', () => this.close('room_closed', 'the media server process for this room stopped; please rejoin'));
  }

  static async create(desc: RoomDescriptor, pool: WorkerPool, log: Logger): Promise<Room> {
    const { router, host } = await pool.createRouter(MEDIA_CODECS);
    try {
      const observer = await router.createActiveSpeakerObserver({ interval: 300 });
      const room = new Room(desc, router, host, observer, log.child({ room: desc.id }));
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

  get activeSpeakerId(): string | null {
    return this.#activeSpeakerId;
  }

  participants(): Participant[] {
    return [...this.#participants.values()];
  }

  participantInfos(except?: Participant): ParticipantInfo[] {
    return this.participants().filter((p) => p !== except).map((p) => p.info);
  }

  producerInfos(except?: Participant): ProducerInfo[] {
    return this.participants().filter((p) => p !== except).flatMap((p) => p.producerInfos());
  }

  /**
   * Adds a participant. The same identity joining again (a second device, a reloaded page) replaces
   * the earlier session, so one person is never shown twice.
   */
  admit(participant: Participant): void {
    if (this.#closed) throw wrongState('this room has just closed; please join again');
    this.#admitting = true; // replacing the only participant must not close the room under us
    try {
      for (const other of [...this.#participants.values()]) {
        if (other.info.identity === participant.info.identity) {
          this.remove(other, 'replaced', 'you joined this room from another window or device');
        }
      }
    } finally {
      this.#admitting = false;
    }
    this.#participants.set(participant.id, participant);
    participant.once('closed', (reason) => this.#onParticipantClosed(participant, reason));
    this.notifyOthers(participant, 'participantJoined', { participant: participant.info });
    this.#log.info({ participant: participant.id, identity: participant.info.identity, role: participant.info.role, site: participant.info.site.id }, 'participant joined');
    this.emit('participantJoined', participant);
  }

  remove(participant: Participant, reason: LeaveReason, message?: string): void {
    participant.close(reason, message);
  }

  /** Registers a new producer: others are told, audio feeds the active-speaker observer. */
  publish(owner: Participant, producer: types.Producer, source: MediaSource): void {
    owner.addProducer(producer, source);
    if (producer.kind === 'audio') {
      this.#speakerObserver.addProducer({ producerId: producer.id }).catch((err: unknown) => this.#log.warn({ err }, 'active speaker observer'));
    }
    producer.observer.once('close', () => this.notifyOthers(owner, 'producerClosed', { producerId: producer.id, participantId: owner.id }));
    const info = owner.producerInfos().find((p) => p.id === producer.id);
    if (info) this.notifyOthers(owner, 'producerAdded', { producer: info });
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

  close(reason: LeaveReason = 'room_closed', message = 'the room was closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#participants.values()]) p.close(reason, message);
    this.router.close();
    this.#log.info('room closed');
    this.emit('closed');
  }

  #onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    if (this.#participants.get(participant.id) !== participant) return;
    this.#participants.delete(participant.id);
    this.#log.info({ participant: participant.id, reason }, 'participant left');
    this.notifyOthers(null, 'participantLeft', { participantId: participant.id, reason });
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
