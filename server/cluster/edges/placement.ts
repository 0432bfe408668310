/**
 * Where a broadcast's viewer goes once its origin's seats are taken: the edge with the fewest of this
 * room's viewers (those it hosts, plus those just sent its way and not yet arrived), among serving
 * nodes whose link to this origin did not drop lately. Every edge full: the origin takes the viewer
 * itself, over its capacity, rather than refusing anyone.
 */
import type { NodeInfo } from '../NodeRegistry.js';
import type { EdgeOrigin } from '../routing.js';
import type { ViewerSeats } from './seats.js';

/** What placement needs to know of this node's edges and relays. */
export interface ViewerPlacementDeps {
  seats: ViewerSeats;
  /** As an origin: viewers each edge hosts for a room, and whether an edge may get more (OriginLinks). */
  edges: { viewersOn(roomId: string, nodeId: string): number; usable(nodeId: string): boolean };
  /** As an edge: the origin of a room this node relays now (EdgeRooms). */
  relays: { originOf(roomId: string): EdgeOrigin | undefined };
  choice: EdgeChoice;
}

/** A viewer sent to an edge counts against it until it shows up there, or at most this long. */
const IN_FLIGHT_MS = 5000;

export class EdgeChoice {
  /** "<room> <node>" → when each viewer sent there and not arrived yet was sent. */
  readonly #sent = new Map<string, number[]>();

  /** The edge for one more viewer of `roomId`, or undefined (the origin keeps it). */
  choose(roomId: string, nodes: readonly NodeInfo[], selfId: string, deps: ViewerPlacementDeps, now = Date.now()): NodeInfo | undefined {
    let best: { node: NodeInfo; load: number } | undefined;
    for (const node of nodes) {
      if (node.id === selfId || node.state !== 'serving' || !deps.edges.usable(node.id)) continue;
      const load = deps.edges.viewersOn(roomId, node.id) + this.#inFlight(roomId, node.id, now);
      if (!best || load < best.load) best = { node, load };
    }
    if (!best || best.load >= deps.seats.capacity) return undefined;
    const key = `${roomId} ${best.node.id}`;
    this.#sent.set(key, [...(this.#sent.get(key) ?? []), now]);
    return best.node;
  }

  /** A viewer the origin sent to `nodeId` has arrived there (the edge opened it on the origin). */
  arrived(roomId: string, nodeId: string): void {
    const key = `${roomId} ${nodeId}`;
    const sent = this.#sent.get(key);
    sent?.shift();
    if (sent?.length === 0) this.#sent.delete(key);
  }

  #inFlight(roomId: string, nodeId: string, now: number): number {
    const key = `${roomId} ${nodeId}`;
    const recent = (this.#sent.get(key) ?? []).filter((t) => now - t < IN_FLIGHT_MS);
    if (recent.length > 0) this.#sent.set(key, recent);
    else this.#sent.delete(key);
    return recent.length;
  }
}
