/**
 * Counts HLS players: the programme page adds `?w=<random per page>` to the playlist URL, and a live
 * player reloads that playlist every segment or so; the players seen within the window are watching.
 * Not exact (a player that never reloads, a shared link without the page), but it needs no session.
 */
const WINDOW_MS = 15_000;
const MAX_TRACKED = 100_000;

export class HlsWatchers {
  /** Per stream folder: per watcher id, when its player last asked. */
  readonly #seen = new Map<string, Map<string, number>>();

  saw(stream: string, watcher: string, now = Date.now()): void {
    let players = this.#seen.get(stream);
    if (!players) this.#seen.set(stream, (players = new Map()));
    if (players.size >= MAX_TRACKED && !players.has(watcher)) this.#prune(players, now);
    if (players.size < MAX_TRACKED) players.set(watcher, now);
  }

  count(stream: string, now = Date.now()): number {
    const players = this.#seen.get(stream);
    if (!players) return 0;
    this.#prune(players, now);
    if (players.size === 0) this.#seen.delete(stream);
    return players.size;
  }

  #prune(players: Map<string, number>, now: number): void {
    for (const [id, at] of players) if (now - at > WINDOW_MS) players.delete(id);
  }
}
