import type { DurableRoomMemory } from '../rooms/RoomMemory.js';

/**
 * Where a connection for a room is served. A single node serves every room itself; a cluster node
 * serves the rooms it owns (or claims) and sends every other connection to the owner's route.
 */
export type RouteDecision = { here: true; edgeOf?: EdgeOrigin; seat?: () => void } | { here: false; route: string };

/**
 * A broadcast's origin, as an edge node hosting some of its viewers knows it. `edgeOf` in a decision:
 * the viewer is served here as an edge of that origin. `seat`: the viewer seat taken here for this
 * connection, to be given back when it closes.
 */
export interface EdgeOrigin {
  nodeId: string;
  route: string;
}

export interface RoomRouting {
  /** Decides at connect time; `hops` = MOVED answers the client already followed. */
  route(roomId: string, hops: number): Promise<RouteDecision>;
  /**
   * The same for a broadcast or training viewer: the origin keeps viewers while it has seats, then
   * sends them to edge nodes (clustered); an edge the origin chose serves them itself.
   */
  routeViewer(roomId: string, hops: number): Promise<RouteDecision>;
  /**
   * The route of the node holding `roomId` if another node does (clustered): what only the room's own
   * node knows (a programme's live state) is asked of it. Rejects if the directory cannot be read.
   */
  servedElsewhere(roomId: string): Promise<string | undefined>;
  /** Stops announcing this node and gives its rooms up (shutdown). */
  close(): Promise<void>;
  /** Stops taking new rooms (clustered: they go to other nodes); rooms here go on. */
  drain(): Promise<void>;
  readonly draining: boolean;
}

/** The embedded default: one node, every room is here, nothing to ask. */
export const SINGLE_NODE: RoomRouting = {
  route: () => Promise.resolve({ here: true }),
  routeViewer: () => Promise.resolve({ here: true }),
  servedElsewhere: () => Promise.resolve(undefined),
  close: () => Promise.resolve(),
  // A single node has nowhere to send rooms: shutting down is its only way out.
  drain: () => Promise.resolve(),
  draining: false,
};

/**
 * A cluster node's two faces (routing connections, keeping room memory) before the node exists:
 * rooms and signaling are built before the HTTP server listens, but a cluster node announces its
 * route (its URL) only once it does. Calls that arrive in between wait for it.
 */
export function deferredCluster(): {
  routing: RoomRouting;
  durable: DurableRoomMemory;
  ready(node: RoomRouting & DurableRoomMemory): void;
} {
  let ready!: (node: RoomRouting & DurableRoomMemory) => void;
  let current: (RoomRouting & DurableRoomMemory) | undefined;
  const node = new Promise<RoomRouting & DurableRoomMemory>((resolve) => (ready = resolve)).then((n) => (current = n));
  return {
    routing: {
      route: async (roomId, hops) => (await node).route(roomId, hops),
      routeViewer: async (roomId, hops) => (await node).routeViewer(roomId, hops),
      servedElsewhere: async (roomId) => (await node).servedElsewhere(roomId),
      close: async () => (await node).close(),
      drain: async () => (await node).drain(),
      get draining() {
        return current?.draining ?? false;
      },
    },
    durable: {
      restore: async (roomId, memory) => (await node).restore(roomId, memory),
      save: (roomId, snapshot) => void node.then((n) => n.save(roomId, snapshot)),
    },
    ready,
  };
}
