/**
 * The receive transport a connection prepared before joining (`prepareReceive`, a pre-join screen):
 * ICE and DTLS are done while the person looks at the preview, and the join's consumers are made on
 * it, so the first picture waits only for the sender's key frame. It belongs to the connection until
 * a join adopts it; a join that does not (the lobby, another room, another transport asked for), the
 * connection closing, or no join within `PREPARED_RECEIVE_TTL_MS`, closes it.
 */
import type { types } from 'mediasoup';
import type { Room } from '../rooms/Room.js';
import type { Session } from './Session.js';

/** How long a prepared transport waits for its join: a pre-join screen is left open a while, not for hours. */
export const PREPARED_RECEIVE_TTL_MS = 5 * 60_000;

export class PreparedReceive {
  readonly transport: types.WebRtcTransport;
  /** The room whose router it is on: only a join into that room, still open, may adopt it. */
  readonly room: Room;
  /** Paused consumers of the room's tracks made on it for the client to wire ahead (RoomMedia.prepareTracks). */
  tracks: types.Consumer[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(transport: types.WebRtcTransport, room: Room, ttlMs = PREPARED_RECEIVE_TTL_MS) {
    this.transport = transport;
    this.room = room;
    this.#timer = setTimeout(() => transport.close(), ttlMs);
    this.#timer.unref();
    transport.observer.once('close', () => clearTimeout(this.#timer));
  }

  /** Whether a join into `room` can still take it. */
  usableIn(room: Room): boolean {
    return room === this.room && !room.closed && !this.transport.closed;
  }

  /** The track made ahead of `producerId`, still open, if any (taken once). */
  takeTrack(producerId: string): types.Consumer | undefined {
    const index = this.tracks.findIndex((c) => c.producerId === producerId && !c.closed);
    return index < 0 ? undefined : this.tracks.splice(index, 1)[0];
  }

  /** Closes the tracks no join took (their producers are no longer shown, or the join made its own). */
  closeUntaken(): void {
    for (const consumer of this.tracks.splice(0)) consumer.close();
  }

  /** Handed to its participant: no longer closed by the timer (the participant's transports close with it). */
  adopted(): types.WebRtcTransport {
    clearTimeout(this.#timer);
    return this.transport;
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * What a join may take: the connection's prepared transport if the join names it. Whatever the join
 * then does, the connection holds none after it: one not named is closed now.
 */
export function preparedForJoin(session: Session, transportId: string | undefined): PreparedReceive | undefined {
  const held = session.takePrepared();
  if (held && transportId !== undefined && held.transport.id === transportId) return held;
  held?.close();
  return undefined;
}
