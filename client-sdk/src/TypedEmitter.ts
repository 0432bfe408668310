/* eslint-disable @typescript-eslint/no-unsafe-function-type -- storage only; the typed API is on/off/emit. */
/** A tiny typed event emitter for the browser: `on` returns an unsubscribe function. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

export class TypedEmitter<E extends EventMap<E>> {
  readonly #listeners = new Map<keyof E, Set<Function>>();

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (error) {
        // One faulty UI callback must not stop the others or the SDK's own bookkeeping.
        console.error(`[telemed-sdk] listener for "${String(event)}" threw`, error);
      }
    }
  }

  protected listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
