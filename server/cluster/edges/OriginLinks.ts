/**
 * The origin's `/edge` namespace: edge nodes connect here, one link per room they host viewers of.
 * A link is admitted only with a valid edge link token (see linkToken.ts) for a broadcast or
 * training room open on this node. Knows how many viewers each edge hosts per room, and which edges
 * died lately (their link dropped), so that placement sends no viewer to a dead node still listed in
 * the directory.
 */
import type { Namespace, Server } from 'socket.io';
import { ProtocolError, type EdgeToOriginEvents, type OriginToEdgeEvents } from '../../../signaling/protocol/index.js';
import { OriginLink, type LinkSocket, type OriginLinkDeps } from './OriginLink.js';
import { verifyLinkToken, type LinkKeys } from './linkToken.js';
import { EDGE_KINDS } from './seats.js';

/** A node whose link dropped gets no viewers for this long (its registration may outlive it by its TTL). */
const DEAD_EDGE_MS = 30_000;

export class OriginLinks {
  readonly #links = new Set<OriginLink>();
  /** Node id → when its last link dropped without the edge closing it. */
  readonly #lost = new Map<string, number>();

  constructor(io: Server, keys: LinkKeys, deps: OriginLinkDeps) {
    const edge = io.of('/edge') as unknown as Namespace<EdgeToOriginEvents, OriginToEdgeEvents>;
    edge.use((socket, next) => {
      try {
        const claims = verifyLinkToken(keys, (socket.handshake.auth as { token?: unknown }).token);
        const room = deps.rooms.get(claims.room);
        if (!room || room.closed || !EDGE_KINDS.has(room.kind))
          throw new ProtocolError('NOT_FOUND', `room ${claims.room} is not served here (any more)`);
        socket.data = { edgeNodeId: claims.sub, roomId: claims.room };
        next();
      } catch (error) {
        const wire = (error instanceof ProtocolError ? error : new ProtocolError('UNAUTHENTICATED', 'edge link refused')).toWire();
        deps.log.warn({ reason: wire.message, address: socket.handshake.address }, 'edge link refused');
        next(Object.assign(new Error(wire.message), { data: wire }));
      }
    });
    edge.on('connection', (socket) => {
      const { edgeNodeId, roomId } = socket.data as { edgeNodeId: string; roomId: string };
      const room = deps.rooms.get(roomId);
      if (!room || room.closed) return void socket.disconnect(true);
      const link = new OriginLink(socket as LinkSocket, room, edgeNodeId, deps);
      this.#links.add(link);
      this.#lost.delete(edgeNodeId);
      deps.log.info({ room: roomId, edge: edgeNodeId }, 'edge link open');
      socket.on('disconnect', (reason) => {
        this.#links.delete(link);
        // Closed by the edge on purpose (its room there emptied) or by us: not a death.
        if (reason !== 'client namespace disconnect' && reason !== 'server namespace disconnect') this.#lost.set(edgeNodeId, Date.now());
      });
    });
  }

  /** Viewers `nodeId` hosts for `roomId` as an edge of this origin. */
  viewersOn(roomId: string, nodeId: string): number {
    let n = 0;
    for (const link of this.#links) if (link.room.id === roomId && link.edgeNodeId === nodeId) n += link.viewers;
    return n;
  }

  /** Viewers of this node's rooms hosted on edges (all rooms, all edges). */
  remoteViewers(): number {
    let n = 0;
    for (const link of this.#links) n += link.viewers;
    return n;
  }

  /** Links open to edges, and the producers piped over them. */
  figures(): { links: number; piped: number } {
    let piped = 0;
    for (const link of this.#links) piped += link.piped;
    return { links: this.#links.size, piped };
  }

  /** Whether viewers may be sent to `nodeId`: not if its link dropped lately (it may be dead). */
  usable(nodeId: string, now = Date.now()): boolean {
    const lost = this.#lost.get(nodeId);
    return lost === undefined || now - lost > DEAD_EDGE_MS;
  }

  closeAll(): void {
    for (const link of [...this.#links]) link.close();
  }
}
