/**
 * The viewer's SDP side. mediasoup hands out consumers, not SDP: the viewer writes the remote offer
 * itself (./recvSdp.ts), one m-section per consumer, and applies werift's answer. Negotiations — and
 * the consume rounds that lead to them — run one at a time, queued on a promise chain.
 */
import type { MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { TransportOptions } from '../../signaling/protocol/index.js';
import { buildRecvOffer, dtlsFromAnswer, type OfferSection } from './recvSdp.js';
import type { ConsumerState } from './viewerAccounting.js';
import type { ViewerSignaling } from './viewerSignaling.js';

export interface NegotiationOptions {
  signaling: ViewerSignaling;
  log: (line: string) => void;
  /** Refuse non-loopback candidates in the offer. */
  loopbackOnly: boolean;
  /** Whether the viewer has shut down (a failing task then raises no warning). */
  isClosed: () => boolean;
  warn: (message: string) => void;
}

export class Negotiation {
  readonly #options: NegotiationOptions;
  /**
   * The offer's m-sections in order. A closed consumer's section goes inactive at the next
   * negotiation; once werift has answered it inactive, a new consumer recycles it (as mediasoup-client
   * does, and as werift expects: it reuses its first inactive transceiver for the next new m-section).
   */
  readonly #slots: { consumer: ConsumerState; state: 'active' | 'closing' | 'inactive' }[] = [];
  #chain: Promise<void> = Promise.resolve();
  #sdpVersion = 0;
  readonly #sdpSessionId = String(Math.floor(Math.random() * 1e12));
  #transportConnectRequested = false;

  constructor(options: NegotiationOptions) {
    this.#options = options;
  }

  /** Settles once every task queued so far has run. */
  get settled(): Promise<void> {
    return this.#chain;
  }

  /** Runs `task` after the queued ones; a failure becomes a warning (unless the viewer is closed). */
  enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((error: unknown) => {
      if (!this.#options.isClosed()) this.#options.warn(`negotiation: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** Gives a new consumer an m-section: the first inactive one, else a new one at the end. */
  place(consumer: ConsumerState): void {
    const free = this.#slots.find((slot) => slot.state === 'inactive');
    if (free) Object.assign(free, { consumer, state: 'active' });
    else this.#slots.push({ consumer, state: 'active' });
  }

  /** A closed consumer's m-section goes inactive at the next negotiation. */
  release(consumer: ConsumerState): void {
    const slot = this.#slots.find((x) => x.consumer === consumer);
    if (slot) slot.state = 'closing';
  }

  /**
   * Offers every m-section (closed ones inactive) and applies werift's answer; then finds the open
   * consumers' transceivers and hands their tracks to `subscribeTrack`.
   */
  async negotiate(
    pc: RTCPeerConnection,
    transport: TransportOptions,
    consumers: ReadonlyMap<string, ConsumerState>,
    subscribeTrack: (track: MediaStreamTrack) => void,
  ): Promise<void> {
    const offered = this.#slots.map((slot) => ({ slot, state: slot.state }));
    const sections: OfferSection[] = offered.map(({ slot: { consumer: c }, state }) => ({
      kind: c.info.kind,
      rtpParameters: c.info.rtpParameters,
      closed: state !== 'active',
      streamId: c.info.participantId,
      trackId: c.info.id,
    }));
    const sdp = buildRecvOffer(transport, sections, {
      id: this.#sdpSessionId,
      version: ++this.#sdpVersion,
      loopbackOnly: this.#options.loopbackOnly,
    });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    if (!this.#transportConnectRequested) {
      // Before setLocalDescription, as mediasoup-client does: werift starts ICE and DTLS as soon as the
      // answer is applied, and mediasoup (ICE-lite, DTLS role auto) starts its DTLS server when ICE
      // completes — after that the server refuses connectTransport, and without the fingerprint
      // mediasoup never finishes the handshake.
      this.#transportConnectRequested = true;
      await this.#options.signaling.request('connectTransport', { transportId: transport.id, dtlsParameters: dtlsFromAnswer(answer.sdp) });
    }
    await pc.setLocalDescription(answer);
    this.#options.log(`negotiated v${this.#sdpVersion} (${sections.length} m-sections)`);
    for (const { slot, state } of offered) if (state === 'closing' && slot.state === 'closing') slot.state = 'inactive';
    for (const c of consumers.values()) {
      c.transceiver ??= pc.getTransceivers().find((t) => t.mid === c.mid && !t.stopped);
      for (const track of c.transceiver?.receiver.tracks ?? []) subscribeTrack(track);
    }
  }
}
