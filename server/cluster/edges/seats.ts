/**
 * Viewer seats of this node: how many broadcast/training viewers it hosts (as an origin or as an
 * edge, all rooms together) against BROADCAST_VIEWERS_PER_NODE. A seat is taken when a viewer's
 * connection is admitted here and given back when it closes, so a burst of joins cannot overshoot.
 */
import { permissionsFor, PUBLISH_PERMISSIONS, type Role, type RoomKind } from '../../../signaling/protocol/index.js';

export class ViewerSeats {
  readonly capacity: number;
  #taken = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get taken(): number {
    return this.#taken;
  }

  /** A seat if one is free (the returned function gives it back), else undefined. */
  tryTake(): (() => void) | undefined {
    return this.#taken < this.capacity ? this.take() : undefined;
  }

  /** A seat even beyond the capacity: the origin placed this viewer here, or nowhere has room. */
  take(): () => void {
    this.#taken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#taken--;
    };
  }
}

/** Rooms whose audience may be spread over edge nodes. */
export const EDGE_KINDS: ReadonlySet<RoomKind> = new Set(['broadcast', 'training']);

/** A receive-only member of a broadcast or training audience: neither presents nor moderates by role. */
export function isAudience(kind: RoomKind, role: Role): boolean {
  if (!EDGE_KINDS.has(kind)) return false;
  const permissions = permissionsFor(kind, role);
  return !permissions.has('moderate') && !PUBLISH_PERMISSIONS.some((p) => permissions.has(p));
}
