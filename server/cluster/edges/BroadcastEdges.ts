/**
 * Broadcasts across nodes, assembled: this node's viewer seats, its `/edge` namespace (as an origin:
 * links from the edges hosting its rooms' viewers) and its edge rooms (as an edge: relays of other
 * origins' rooms). Clustered nodes with an HMAC key only: the link tokens are signed with it.
 */
import type { Server } from 'socket.io';
import type { TokenVerifier } from '../../auth/TokenVerifier.js';
import type { Logger } from '../../logger.js';
import type { WorkerPool } from '../../media/WorkerPool.js';
import type { RoomRegistry } from '../../rooms/RoomRegistry.js';
import type { SignalingServices } from '../../signaling/dispatcher.js';
import { EdgeRooms } from './EdgeRooms.js';
import type { LinkKeys } from './linkToken.js';
import { OriginLinks } from './OriginLinks.js';
import { EdgeChoice, type ViewerPlacementDeps } from './placement.js';
import { ViewerSeats } from './seats.js';

export interface BroadcastEdgesOptions {
  io: Server;
  nodeId: string;
  keys: LinkKeys;
  /** Viewers this node hosts (all broadcast rooms, as origin or edge) before new ones go to edges. */
  viewersPerNode: number;
  consumersPerRouter: number;
  initialOutgoingBitrate: number;
  maxIncomingBitrate: number;
  pipeListen: { ip: string; announcedAddress: string | undefined };
  pool: WorkerPool;
  rooms: RoomRegistry;
  verifier: TokenVerifier;
  services: SignalingServices;
  requestTimeoutMs: number | undefined;
  log: Logger;
}

/** Broadcasts across nodes, as /metrics shows them. */
export interface EdgeFigures {
  /** Viewer seats of this node, and those taken (its rooms' viewers and those it relays). */
  seats: number;
  seatsTaken: number;
  /** As an origin: links open to edges, and producers piped over them. */
  links: number;
  piped: number;
  /** As an edge: viewers hosted for other origins. */
  relayedViewers: number;
}

/** How long an edge room without viewers waits for the next one before it closes its link. */
const EDGE_LINGER_MS = 10_000;

export class BroadcastEdges {
  readonly relays: EdgeRooms;
  readonly placement: ViewerPlacementDeps;
  readonly #origin: OriginLinks;

  constructor(o: BroadcastEdgesOptions) {
    const log = o.log.child({ component: 'edges' });
    const choice = new EdgeChoice();
    this.#origin = new OriginLinks(o.io, o.keys, {
      viewerArrived: (roomId, nodeId) => choice.arrived(roomId, nodeId),
      verifier: o.verifier,
      rooms: o.rooms,
      services: o.services,
      requestTimeoutMs: o.requestTimeoutMs,
      pipeListen: o.pipeListen,
      log,
    });
    this.relays = new EdgeRooms(
      {
        pool: o.pool,
        keys: o.keys,
        nodeId: o.nodeId,
        consumersPerRouter: o.consumersPerRouter,
        pipeListen: o.pipeListen,
        lingerMs: EDGE_LINGER_MS,
        log,
      },
      {
        services: o.services,
        initialOutgoingBitrate: o.initialOutgoingBitrate,
        maxIncomingBitrate: o.maxIncomingBitrate,
        requestTimeoutMs: o.requestTimeoutMs,
        log,
      },
    );
    this.placement = { seats: new ViewerSeats(o.viewersPerNode), edges: this.#origin, relays: this.relays, choice };
  }

  /**
   * What this node's load figure must add to its rooms' participants: the viewers it relays for other
   * origins, less its own rooms' viewers that edges host (they are participants here, but cost little).
   */
  loadAdjustment(): number {
    return this.relays.viewerCount() - this.#origin.remoteViewers();
  }

  /** For /metrics. */
  figures(): EdgeFigures {
    const { seats } = this.placement;
    return { seats: seats.capacity, seatsTaken: seats.taken, ...this.#origin.figures(), relayedViewers: this.relays.viewerCount() };
  }

  close(): void {
    this.relays.closeAll();
    this.#origin.closeAll();
  }
}
