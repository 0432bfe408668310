/**
 * The edge rooms this node hosts, one per broadcast it relays, opened when the first viewer the
 * origin placed here connects (concurrent first viewers share one opening) and forgotten when closed.
 */
import type { Principal } from '../../auth/TokenVerifier.js';
import type { EdgeOrigin } from '../routing.js';
import { EdgeRoom, type EdgeRoomDeps } from './EdgeRoom.js';
import { EdgeViewer, type EdgeViewerDeps, type ViewerSocket } from './EdgeViewer.js';

export class EdgeRooms {
  readonly #rooms = new Map<string, Promise<EdgeRoom>>();
  readonly #roomDeps: EdgeRoomDeps;
  readonly #viewerDeps: EdgeViewerDeps;

  constructor(roomDeps: EdgeRoomDeps, viewerDeps: EdgeViewerDeps) {
    this.#roomDeps = roomDeps;
    this.#viewerDeps = viewerDeps;
  }

  /** The origin of `roomId` if this node relays it now (an open edge room). */
  originOf(roomId: string): EdgeOrigin | undefined {
    const room = this.#open(roomId);
    return room && !room.closed ? room.origin : undefined;
  }

  /** Viewers this node hosts for other origins. */
  viewerCount(): number {
    let n = 0;
    for (const room of this.#settled.values()) if (!room.closed) n += room.viewerCount;
    return n;
  }

  /** Hosts this viewer's connection here, as the edge of `origin` for its room. */
  async attach(socket: ViewerSocket, principal: Principal, token: string, origin: EdgeOrigin): Promise<void> {
    try {
      await new EdgeViewer(socket, principal, this.#viewerDeps).start(this.#room(principal.room, origin), token);
    } catch (error) {
      // Nothing was done for this viewer yet: it is sent back to the entry, which places it anew.
      const message = error instanceof Error ? error.message : String(error);
      this.#viewerDeps.log.warn({ room: principal.room, err: message }, 'edge viewer could not be hosted');
      socket.emit('sessionEnded', { reason: 'room_moved', message: 'this broadcast cannot be relayed here right now; reconnecting…' });
      setTimeout(() => socket.disconnect(true), 100).unref();
    }
  }

  closeAll(): void {
    for (const pending of this.#rooms.values())
      void pending.then(
        (room) => room.close('room_closed', 'the server is shutting down'),
        () => undefined,
      );
  }

  #room(roomId: string, origin: EdgeOrigin): Promise<EdgeRoom> {
    const existing = this.#rooms.get(roomId);
    const settled = this.#settled.get(roomId);
    // Still opening, or open for the same origin: shared. A room of a former origin is replaced.
    if (existing && (!settled || (!settled.closed && settled.origin.nodeId === origin.nodeId))) return existing;
    settled?.close('room_moved', 'this broadcast continues on another server; reconnecting…');
    const opening = EdgeRoom.open(roomId, origin, this.#roomDeps);
    this.#rooms.set(roomId, opening);
    this.#settled.delete(roomId);
    opening.then(
      (room) => {
        this.#settled.set(roomId, room);
        room.once('closed', () => {
          if (this.#rooms.get(roomId) === opening) this.#rooms.delete(roomId);
          if (this.#settled.get(roomId) === room) this.#settled.delete(roomId);
        });
      },
      () => {
        if (this.#rooms.get(roomId) === opening) this.#rooms.delete(roomId);
      },
    );
    return opening;
  }

  /** Rooms whose opening finished, for synchronous questions. */
  readonly #settled = new Map<string, EdgeRoom>();

  #open(roomId: string): EdgeRoom | undefined {
    const room = this.#settled.get(roomId);
    return room && !room.closed ? room : undefined;
  }
}
