/**
 * Received tracks: subscribes to remote producers, keeps which consumer belongs to whom, and
 * reconciles with the server's list of producers after a reconnect (or starts over after a rejoin).
 */
import {
  ProtocolError,
  type MediaKind,
  type MediaSource,
  type ParticipantInfo,
  type ProducerInfo,
} from '../../signaling/protocol/types/index.js';
import type { MediaSession } from './MediaSession.js';

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

export interface TrackListener {
  added(track: RemoteTrack): void;
  removed(track: RemoteTrack): void;
  paused(track: RemoteTrack): void;
  error(error: Error): void;
}

export class RemoteTracks {
  readonly #tracks = new Map<string, RemoteTrack>();
  /**
   * Subscriptions in flight, by producer (so a reconcile does not subscribe twice), with the paused
   * state last heard for it meanwhile: a pause announced while the consumer is being made must not be
   * lost (the consume answer may predate it).
   */
  readonly #pending = new Map<string, boolean | undefined>();
  readonly #media: MediaSession;
  readonly #participant: (id: string) => ParticipantInfo | undefined;
  readonly #listener: TrackListener;
  #closed = false;
  /** Bumped by clear(): a subscription of an earlier session that completes late is not shown. */
  #session = 0;

  constructor(media: MediaSession, participant: (id: string) => ParticipantInfo | undefined, listener: TrackListener) {
    this.#media = media;
    this.#participant = participant;
    this.#listener = listener;
  }

  list(): RemoteTrack[] {
    return [...this.#tracks.values()];
  }

  receive(producer: ProducerInfo): void {
    if (this.#pending.has(producer.id) || this.list().some((t) => t.producerId === producer.id)) return;
    this.#pending.set(producer.id, undefined);
    const session = this.#session;
    this.#media.consume(producer.id).then(
      ({ consumer, info }) => {
        if (session !== this.#session) return consumer.close();
        const heard = this.#pending.get(producer.id);
        this.#pending.delete(producer.id);
        const participant = this.#participant(info.participantId);
        if (this.#closed || !participant) return consumer.close();
        const track: RemoteTrack = {
          id: consumer.id,
          producerId: producer.id,
          participant,
          kind: info.kind,
          source: info.source,
          mediaStreamTrack: consumer.track,
          paused: heard ?? info.producerPaused,
        };
        this.#tracks.set(track.id, track);
        this.#listener.added(track);
      },
      (error: unknown) => {
        if (session !== this.#session) return; // the old session's transport is gone: expected
        this.#pending.delete(producer.id);
        // A producer that closed while we were subscribing is not an error worth showing.
        if (!(error instanceof ProtocolError && error.code === 'NOT_FOUND'))
          this.#listener.error(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** After a resume: drop tracks whose producer is gone, receive producers we do not have yet. */
  reconcile(producers: ProducerInfo[]): void {
    const live = new Set(producers.map((p) => p.id));
    for (const track of this.list()) if (!live.has(track.producerId)) this.drop(track.id);
    for (const producer of producers) this.receive(producer);
    for (const track of this.list()) {
      const paused = producers.find((p) => p.id === track.producerId)?.paused ?? track.paused;
      if (paused !== track.paused) this.setPaused(track.producerId, paused);
    }
  }

  drop(consumerId: string): void {
    const track = this.#tracks.get(consumerId);
    this.#media.closeConsumer(consumerId);
    if (!track) return;
    this.#tracks.delete(consumerId);
    this.#listener.removed(track);
  }

  dropParticipant(participantId: string): void {
    for (const track of this.list()) if (track.participant.id === participantId) this.drop(track.id);
  }

  /**
   * A rejoin: the old session's tracks end (each reported removed) and subscriptions in flight are
   * forgotten; the new session's producers are then received as on a first join.
   */
  clear(): void {
    this.#session++;
    this.#pending.clear();
    for (const track of this.list()) this.drop(track.id);
  }

  dropAll(): void {
    this.#closed = true;
    for (const track of this.list()) this.drop(track.id);
  }

  setPaused(producerId: string, paused: boolean): void {
    if (this.#pending.has(producerId)) this.#pending.set(producerId, paused);
    for (const track of this.#tracks.values()) {
      if (track.producerId !== producerId || track.paused === paused) continue;
      track.paused = paused;
      this.#listener.paused(track);
    }
  }
}
