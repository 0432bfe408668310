/**
 * What must outlive a room object: who a moderator removed, and whether the lead ended it. A room
 * closes when it empties, but the tokens for it stay valid for up to their lifetime; without this a
 * removed person could come back once everyone had left, and an ended consultation could be reopened.
 */
export interface RoomMemory {
  readonly banned: Set<string>;
  ended: boolean;
}

export class RoomMemories {
  readonly #entries = new Map<string, { memory: RoomMemory; touched: number }>();
  readonly #keepMs: number;

  /** `keepSeconds`: how long after its last use a memory is kept (the longest token lifetime). */
  constructor(keepSeconds: number) {
    this.#keepMs = keepSeconds * 1000;
  }

  of(roomId: string, now = Date.now()): RoomMemory {
    this.#prune(now);
    let entry = this.#entries.get(roomId);
    if (!entry) this.#entries.set(roomId, (entry = { memory: { banned: new Set(), ended: false }, touched: now }));
    entry.touched = now;
    return entry.memory;
  }

  #prune(now: number): void {
    for (const [id, entry] of this.#entries) if (now - entry.touched > this.#keepMs) this.#entries.delete(id);
  }
}
