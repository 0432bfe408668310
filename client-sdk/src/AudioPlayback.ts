/**
 * Remote sound that actually plays. Browsers refuse to start audible playback before the user has
 * interacted with the page (autoplay policy): `play()` then rejects with NotAllowedError. A viewer
 * who arrives by link would hear nothing, and a swallowed rejection hides why. This keeps every
 * remote audio element the page asked the SDK to play, reports the refusal once, and starts them all
 * again when the page calls `start()` from a user gesture (a click on "click to enable sound").
 */

export interface AudioPlaybackListener {
  /** Playback was refused: ask the user for a click, then call `start()`. */
  blocked(): void;
  /** After a refusal, every element plays now. */
  started(): void;
  /** Playback failed for another reason than the autoplay policy. */
  error(error: Error): void;
}

/** The browser's way of saying "not before a user gesture". */
export const isAutoplayRefusal = (error: unknown): boolean => error instanceof Error && error.name === 'NotAllowedError';

export class AudioPlayback {
  readonly #elements = new Map<string, HTMLMediaElement>();
  readonly #listener: AudioPlaybackListener;
  #blocked = false;

  constructor(listener: AudioPlaybackListener) {
    this.#listener = listener;
  }

  /** Whether the browser refused to play and `start()` has not succeeded since. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /**
   * Plays `track` (received audio) in `element`, or in a new element the SDK keeps (no need to put it
   * in the document). Replaces what was attached under the same `key` (the track id) before.
   */
  attach(key: string, track: MediaStreamTrack, element?: HTMLMediaElement): HTMLMediaElement {
    const el = element ?? document.createElement('audio');
    // Started by play() below, not by the autoplay attribute: only play()'s promise says it was refused.
    el.autoplay = false;
    el.srcObject = new MediaStream([track]);
    this.#elements.set(key, el);
    void this.#play(el);
    return el;
  }

  /** Stops playing the track kept under `key` (it was removed). */
  detach(key: string): void {
    const el = this.#elements.get(key);
    if (!el) return;
    this.#elements.delete(key);
    el.pause();
    el.srcObject = null;
  }

  detachAll(): void {
    for (const key of [...this.#elements.keys()]) this.detach(key);
  }

  /**
   * Starts every element again; call it from a user gesture (a click handler). Resolves once all play
   * (and reports `started` if they were blocked); rejects with the browser's error if one still may not.
   */
  async start(): Promise<void> {
    const results = await Promise.allSettled([...this.#elements.values()].map((el) => el.play()));
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isAutoplayRefusal(r.reason));
    if (refused) throw refused.reason;
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#listener.started();
  }

  async #play(el: HTMLMediaElement): Promise<void> {
    try {
      await el.play();
    } catch (error) {
      if (isAutoplayRefusal(error)) return this.#markBlocked();
      // AbortError: a newer srcObject or a pause() interrupted this play() — not a failure.
      if (error instanceof Error && error.name === 'AbortError') return;
      this.#listener.error(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #markBlocked(): void {
    if (this.#blocked) return;
    this.#blocked = true;
    this.#listener.blocked();
  }
}
