/**
 * The public SDK object. A clinic's page does:
 *
 *   const client = await ConsultationClient.join({ url, token });
 *   client.on('trackAdded', (t) => attach(t.mediaStreamTrack, t.participant));
 *   await client.publishCamera(); await client.publishMicrophone();
 *
 * It joins the room the token names, receives every remote track automatically, and reports people
 * and tracks with the name, role and site from their tokens.
 */
import type { types } from 'mediasoup-client';
import {
  ProtocolError,
  type LeaveReason,
  type MediaKind,
  type MediaSource,
  type ParticipantInfo,
  type Permission,
  type ProducerInfo,
} from '../../signaling/protocol/index.js';
import { MediaSession, type PublishOptions } from './MediaSession.js';
import { SignalingConnection } from './SignalingConnection.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface JoinOptions {
  /** The media server's base URL, e.g. https://consult.example-hospital.cn */
  url: string;
  /** Access token issued by the hospital system for this person and room. */
  token: string;
  /** The room you expect to enter; the server refuses if the token names another one. */
  roomId?: string;
  /** Use ICE over TCP only (networks that block UDP). */
  forceTcp?: boolean;
  /** Override mediasoup-client's browser detection (rarely needed). */
  handlerName?: types.BuiltinHandlerName;
}

export interface RemoteTrack {
  /** Consumer id: unique per received track. */
  id: string;
  producerId: string;
  participant: ParticipantInfo;
  kind: MediaKind;
  source: MediaSource;
  mediaStreamTrack: MediaStreamTrack;
  /** The sender paused it (muted camera or microphone). */
  paused: boolean;
}

export type ReceiveQuality = 'low' | 'medium' | 'high';

export interface ClientEvents {
  participantJoined: [participant: ParticipantInfo];
  participantLeft: [participant: ParticipantInfo, reason: LeaveReason];
  trackAdded: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  trackPaused: [track: RemoteTrack];
  trackResumed: [track: RemoteTrack];
  activeSpeaker: [participant: ParticipantInfo | null];
  /** The session ended: left, removed, replaced by another window, or the connection was lost. */
  disconnected: [info: { reason: LeaveReason | 'connection_lost'; message: string }];
  /** A background operation failed (e.g. receiving one track); the session goes on. */
  error: [error: Error];
}

export class ConsultationClient extends TypedEmitter<ClientEvents> {
  readonly self: ParticipantInfo;
  readonly permissions: ReadonlySet<Permission>;
  readonly #signaling: SignalingConnection;
  readonly #media: MediaSession;
  readonly #participants = new Map<string, ParticipantInfo>();
  readonly #tracks = new Map<string, RemoteTrack>();
  #ended = false;

  private constructor(signaling: SignalingConnection, media: MediaSession, self: ParticipantInfo, permissions: Permission[]) {
    super();
    this.#signaling = signaling;
    this.#media = media;
    this.self = self;
    this.permissions = new Set(permissions);
  }

  /** Connects with the token, joins its room and starts receiving the others. */
  static async join(options: JoinOptions): Promise<ConsultationClient> {
    const signaling = await SignalingConnection.connect({ url: options.url, token: options.token });
    try {
      const media = await MediaSession.create(signaling, {
        ...(options.forceTcp ? { forceTcp: true } : {}),
        ...(options.handlerName ? { handlerName: options.handlerName } : {}),
      });
      const joined = await signaling.request('join', {
        rtpCapabilities: media.device.rtpCapabilities as never,
        ...(options.roomId ? { roomId: options.roomId } : {}),
      });
      const client = new ConsultationClient(signaling, media, joined.self, joined.permissions);
      client.#start(joined.participants, joined.producers);
      return client;
    } catch (error) {
      signaling.close();
      throw error;
    }
  }

  get participants(): ParticipantInfo[] {
    return [...this.#participants.values()];
  }

  get tracks(): RemoteTrack[] {
    return [...this.#tracks.values()];
  }

  can(permission: Permission): boolean {
    return this.permissions.has(permission);
  }

  async publishCamera(options: PublishOptions & { constraints?: MediaTrackConstraints } = {}): Promise<MediaStreamTrack> {
    this.#require('publish_video', 'camera');
    const stream = await navigator.mediaDevices.getUserMedia({ video: options.constraints ?? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25 } } });
    return this.#publishFirst(stream, 'camera', options);
  }

  async publishMicrophone(constraints: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true }): Promise<MediaStreamTrack> {
    this.#require('publish_audio', 'microphone');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    return this.#publishFirst(stream, 'microphone');
  }

  async publishScreen(): Promise<MediaStreamTrack> {
    this.#require('publish_screen', 'screen');
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = await this.#publishFirst(stream, 'screen');
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

  /** Pauses (mutes) or resumes one of your own published sources for everyone. */
  async setPublishedPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.#media.producer(source);
    if (!producer) throw new ProtocolError('WRONG_STATE', `${source} is not published`);
    if (paused) producer.pause();
    else producer.resume();
    await this.#signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  /** Chooses the simulcast layer received for a remote camera: low for a thumbnail, high for the main tile. */
  async setReceiveQuality(trackId: string, quality: ReceiveQuality): Promise<void> {
    const spatialLayer = { low: 0, medium: 1, high: 2 }[quality];
    await this.#signaling.request('setPreferredLayers', { consumerId: trackId, spatialLayer });
  }

  /** WebRTC statistics of the send and receive connections (for diagnostics and tests). */
  getStats(): Promise<RTCStatsReport[]> {
    return this.#media.peerConnectionStats();
  }

  async leave(): Promise<void> {
    if (this.#ended) return;
    try {
      if (this.#signaling.connected) await this.#signaling.request('leave', {});
    } finally {
      this.#end('left', 'you left the room');
    }
  }

  #require(permission: Permission, source: MediaSource): void {
    if (!this.permissions.has(permission)) {
      throw new ProtocolError('FORBIDDEN', `your role (${this.self.role}) may not publish ${source} in this room`);
    }
  }

  async #publishFirst(stream: MediaStream, source: MediaSource, options: PublishOptions = {}): Promise<MediaStreamTrack> {
    const track = stream.getTracks()[0];
    if (!track) throw new ProtocolError('NOT_FOUND', `no ${source} track available`);
    try {
      await this.#media.publish(track, source, options);
    } catch (error) {
      track.stop();
      throw error;
    }
    return track;
  }

  #start(participants: ParticipantInfo[], producers: ProducerInfo[]): void {
    for (const p of participants) this.#participants.set(p.id, p);
    const s = this.#signaling;
    s.on('participantJoined', ({ participant }) => {
      this.#participants.set(participant.id, participant);
      this.emit('participantJoined', participant);
    });
    s.on('participantLeft', ({ participantId, reason }) => this.#onParticipantLeft(participantId, reason));
    s.on('producerAdded', ({ producer }) => this.#receive(producer));
    s.on('consumerClosed', ({ consumerId }) => this.#dropTrack(consumerId));
    s.on('producerPaused', ({ producerId }) => this.#setTrackPaused(producerId, true));
    s.on('producerResumed', ({ producerId }) => this.#setTrackPaused(producerId, false));
    s.on('activeSpeaker', ({ participantId }) => {
      const who = participantId === this.self.id ? this.self : participantId ? this.#participants.get(participantId) ?? null : null;
      this.emit('activeSpeaker', who);
    });
    s.on('sessionEnded', ({ reason, message }) => this.#end(reason, message));
    s.on('disconnected', () => this.#end('connection_lost', 'the connection to the media server was lost'));
    void this.#media.warmUp().catch((error: unknown) => this.emit('error', asError(error)));
    for (const producer of producers) this.#receive(producer);
  }

  #receive(producer: ProducerInfo): void {
    this.#media.consume(producer.id).then(
      ({ consumer, info }) => {
        const participant = this.#participants.get(info.participantId);
        if (this.#ended || !participant) {
          consumer.close();
          return;
        }
        const track: RemoteTrack = {
          id: consumer.id,
          producerId: producer.id,
          participant,
          kind: info.kind,
          source: info.source,
          mediaStreamTrack: consumer.track,
          paused: info.producerPaused,
        };
        this.#tracks.set(track.id, track);
        this.emit('trackAdded', track);
      },
      (error: unknown) => {
        // A producer that closed while we were subscribing is not an error worth showing.
        if (!(error instanceof ProtocolError && error.code === 'NOT_FOUND')) this.emit('error', asError(error));
      },
    );
  }

  #dropTrack(consumerId: string): void {
    const track = this.#tracks.get(consumerId);
    this.#media.closeConsumer(consumerId);
    if (!track) return;
    this.#tracks.delete(consumerId);
    this.emit('trackRemoved', track);
  }

  #setTrackPaused(producerId: string, paused: boolean): void {
    for (const track of this.#tracks.values()) {
      if (track.producerId !== producerId) continue;
      track.paused = paused;
      this.emit(paused ? 'trackPaused' : 'trackResumed', track);
    }
  }

  #onParticipantLeft(participantId: string, reason: LeaveReason): void {
    const participant = this.#participants.get(participantId);
    for (const track of [...this.#tracks.values()]) if (track.participant.id === participantId) this.#dropTrack(track.id);
    if (!participant) return;
    this.#participants.delete(participantId);
    this.emit('participantLeft', participant, reason);
  }

  #end(reason: LeaveReason | 'connection_lost', message: string): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const track of [...this.#tracks.values()]) this.#dropTrack(track.id);
    this.#media.close();
    this.#signaling.close();
    this.emit('disconnected', { reason, message });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
