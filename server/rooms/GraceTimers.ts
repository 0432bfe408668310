/** One timer per participant, for the reconnect grace period: started on a drop, cancelled on return. */
export class GraceTimers {
  readonly #timers = new Map<string, NodeJS.Timeout>();

  start(id: string, ms: number, expire: () => void): void {
    this.cancel(id);
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      expire();
    }, ms);
    timer.unref();
    this.#timers.set(id, timer);
  }

  cancel(id: string): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }

  cancelAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
