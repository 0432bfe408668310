/**
 * Where a join's time goes, as the SDK sees it: milliseconds from `ConsultationClient.join()` to each
 * phase, first occurrence only (a later reconnect does not move them). Exposed as `client.timings`
 * and printed per phase by `npm run bench:join`, so a slow first picture can be pinned on signaling,
 * the device, the transports or ICE/DTLS instead of guessed at.
 */
export const JOIN_PHASES = [
  'socketOpen',
  'routerCapabilities',
  'deviceLoaded',
  'joined',
  'recvTransport',
  'transportConnected',
  'firstTrack',
  'firstVideoRtp',
] as const;
export type JoinPhase = (typeof JOIN_PHASES)[number];
export type JoinTimings = Partial<Record<JoinPhase, number>>;

export class JoinTimeline {
  readonly #startedAt = performance.now();
  readonly #marks: JoinTimings = {};

  /** Notes `phase` now, unless it was already noted. */
  mark(phase: JoinPhase): void {
    this.#marks[phase] ??= Math.round(performance.now() - this.#startedAt);
  }

  /**
   * Notes 'firstVideoRtp' when `track` (a received video track) gets its first packet: a remote track
   * starts muted and the browser unmutes it on the first packet. After the transport connects, that
   * is the sender's key frame reaching this page; what follows until the picture is decoding.
   */
  watchFirstVideoPacket(track: MediaStreamTrack): void {
    if (this.#marks.firstVideoRtp !== undefined) return;
    if (!track.muted) this.mark('firstVideoRtp');
    else track.addEventListener('unmute', () => this.mark('firstVideoRtp'), { once: true });
  }

  get timings(): JoinTimings {
    return { ...this.#marks };
  }
}
