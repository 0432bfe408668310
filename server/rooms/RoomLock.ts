/**
 * The lock of a consultation (a moderator closes the door: newcomers wait in the lobby) and who is
 * inside it: everyone present when it was locked and everyone admitted from the lobby since. Those
 * come back in without waiting — after a reload, or when the room moves to another server and every
 * participant rejoins there — while a newcomer still waits. Unlocking forgets the list.
 */
export interface LockState {
  locked: boolean;
  /** Identities let in while locked. */
  admitted: string[];
}

export class RoomLock {
  #locked = false;
  readonly #admitted = new Set<string>();

  get locked(): boolean {
    return this.#locked;
  }

  /** Whether `identity` may enter without waiting in the lobby. */
  lets(identity: string): boolean {
    return !this.#locked || this.#admitted.has(identity);
  }

  /** Locks with `present` (identities) inside. */
  lock(present: Iterable<string>): void {
    this.#locked = true;
    for (const identity of present) this.#admitted.add(identity);
  }

  unlock(): void {
    this.#locked = false;
    this.#admitted.clear();
  }

  /** A moderator let `identity` in from the lobby. */
  admit(identity: string): void {
    if (this.#locked) this.#admitted.add(identity);
  }

  state(): LockState {
    return { locked: this.#locked, admitted: [...this.#admitted] };
  }

  /** Takes over the lock of the same room as it was elsewhere (another server served it before). */
  restore(state: LockState): void {
    this.unlock();
    if (state.locked) this.lock(state.admitted);
  }
}
