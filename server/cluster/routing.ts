/**
 * Where a connection for a room is served. A single node serves every room itself; a cluster node
 * serves the rooms it owns (or claims) and sends every other connection to the owner's route.
 */
export type RouteDecision = { here: true } | { here: false; route: string };

export interface RoomRouting {
  /** Decides at connect time; `hops` = MOVED answers the client already followed. */
  route(roomId: string, hops: number): Promise<RouteDecision>;
  /** Stops announcing this node and gives its rooms up (shutdown). */
  close(): Promise<void>;
}

/** The embedded default: one node, every room is here, nothing to ask. */
export const SINGLE_NODE: RoomRouting = {
  route: () => Promise.resolve({ here: true }),
  close: () => Promise.resolve(),
};

/**
 * Routing that exists before the node it waits for: signaling is attached before the HTTP server
 * listens, but a cluster node announces its route (its URL) only once it listens. Connections that
 * arrive in between wait for it.
 */
export function deferredRouting(): { routing: RoomRouting; ready(routing: RoomRouting): void } {
  let ready!: (routing: RoomRouting) => void;
  const node = new Promise<RoomRouting>((resolve) => (ready = resolve));
  return {
    routing: {
      route: async (roomId, hops) => (await node).route(roomId, hops),
      close: async () => (await node).close(),
    },
    ready,
  };
}
