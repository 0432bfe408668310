/**
 * One WHIP session (RFC 9725): an encoder's offer turned into a mediasoup WebRtcTransport on the
 * room's origin router and one producer per media section, made through the room's own media rules
 * (RoomMedia: the same transport limits, publish rules and audience key-frame throttle as a browser
 * presenter). The transport's ICE and DTLS states drive the ingest: connected → live; consent lost or
 * DTLS closed without a DELETE → reconnecting (the grace period).
 */
import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { Ingest, IngestMedia } from './Ingest.js';
import { iceRestartFragment, whipAnswer } from './whipAnswer.js';
import { readWhipOffer, type WhipOffer } from './whipOffer.js';

export class WhipSession implements IngestMedia {
  /** The resource id in the session URL: unguessable, since it names what PATCH and DELETE act on. */
  readonly id = randomBytes(16).toString('hex');
  readonly videoMode = null;
  readonly #ingest: Ingest;
  readonly #offer: WhipOffer;
  readonly #transport: types.WebRtcTransport;
  #version = 1;
  #ended = false;

  private constructor(ingest: Ingest, offer: WhipOffer, transport: types.WebRtcTransport) {
    this.#ingest = ingest;
    this.#offer = offer;
    this.#transport = transport;
  }

  /** Answers `sdp`: the presenter enters (or stays in) the room and publishes each section. */
  static async start(ingest: Ingest, sdp: string, log: Logger): Promise<{ session: WhipSession; answer: string }> {
    const { room, participant } = await ingest.onStage();
    let offer: WhipOffer;
    let transport: types.WebRtcTransport;
    try {
      offer = readWhipOffer(sdp, room.router.rtpCapabilities.headerExtensions ?? []);
      transport = await room.media.createTransport(participant, 'send', false);
    } catch (error) {
      // Refused before anything ran: a presenter that came in only for this offer leaves again
      // (viewers would see an empty stage); a programme already running goes on.
      if (!ingest.media) ingest.endProgramme('the encoder’s offer could not be taken');
      throw error;
    }
    const session = new WhipSession(ingest, offer, transport);
    try {
      // The encoder's earlier session (it reconnected with a new offer) gives way to this one.
      ingest.attach(session);
      session.#watch(log);
      await room.media.connectTransport(participant, transport.id, offer.dtlsParameters);
      for (const track of offer.tracks) {
        await room.media.produce(participant, {
          transportId: transport.id,
          kind: track.kind,
          source: track.source,
          rtpParameters: track.rtpParameters,
        });
      }
    } catch (error) {
      session.endProgramme();
      throw error;
    }
    return { session, answer: whipAnswer(offer, transport, session.#version) };
  }

  get etag(): string {
    return `"${this.id}-${this.#version}"`;
  }

  get ended(): boolean {
    return this.#ended || this.#transport.closed;
  }

  /** An ICE restart asked by the encoder (RFC 9725 §4.4): new credentials, answered as an SDP fragment. */
  async restartIce(): Promise<string> {
    const ice = await this.#transport.restartIce();
    this.#version++;
    const first = this.#offer.tracks[0]!;
    return iceRestartFragment(first, ice, this.#transport.iceCandidates);
  }

  endProgramme(): void {
    this.#ended = true;
    this.#transport.close(); // its producers close with it: the audience is told
  }

  #watch(log: Logger): void {
    const transport = this.#transport;
    const ingest = this.#ingest;
    transport.on('dtlsstatechange', (state) => {
      if (this.#ended) return;
      if (state === 'connected') ingest.live();
      else if (state === 'failed' || state === 'closed') ingest.dropped(`DTLS ${state}`);
    });
    transport.on('icestatechange', (state) => {
      if (this.#ended) return;
      if (state === 'disconnected') ingest.dropped('ICE consent lost');
      else if ((state === 'connected' || state === 'completed') && transport.dtlsState === 'connected') ingest.live();
    });
    transport.observer.once('close', () => {
      if (!this.#ended) log.warn({ ingest: ingest.id }, 'WHIP transport closed under the session');
      this.#ended = true;
    });
  }
}
