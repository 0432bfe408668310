/**
 * The Socket.IO edge: authenticates every connection with its access token before any event is
 * accepted, then maps each protocol request to its handler through the dispatcher.
 */
import type { Server, Socket } from 'socket.io';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { Principal, TokenVerifier } from '../auth/TokenVerifier.js';
import { dispatch, type HandlerContext, type RequestOutcomes, type SignalingServices } from './dispatcher.js';
import { HANDLERS } from './handlers/index.js';
import { routerCapabilities } from './handlers/mediaWire.js';
import {
  isRequestName,
  MAX_ROUTE_HOPS,
  PROTOCOL_VERSION,
  ProtocolError,
  REQUEST_NAMES,
  type Ack,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../signaling/protocol/index.js';
import type { ConnectionLimits } from './ConnectionLimits.js';
import { Session } from './Session.js';
import { SocketChannel } from './SocketChannel.js';
import type { EdgeOrigin, RoomRouting } from '../cluster/routing.js';
import type { EdgeRooms } from '../cluster/edges/EdgeRooms.js';
import { isAudience } from '../cluster/edges/seats.js';
import { pseudonym } from '../pseudonym.js';

export interface SocketData {
  principal: Principal;
  /** When the token the connection was opened with expires: it may enter a room until then. */
  tokenExpiresAtMs: number;
  /** Set when this node hosts the viewer as an edge of the broadcast's origin (with the token it forwards). */
  edge?: { origin: EdgeOrigin; token: string };
}
export type SignalingIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SignalingDeps {
  verifier: TokenVerifier;
  rooms: RoomRegistry;
  services: SignalingServices;
  /** Which node serves a room: this one, or (clustered) another one the client is sent to. */
  routing: RoomRouting;
  /** Clustered: broadcasts relayed here for their origins (viewers placed on this node as an edge). */
  edges?: EdgeRooms | undefined;
  /** Sockets per identity and per network address. */
  limits: ConnectionLimits;
  /** The bound on each request (the dispatcher's default when absent). */
  requestTimeoutMs?: number | undefined;
  /** Where requests' times and outcomes are counted (`/metrics`). */
  outcomes?: RequestOutcomes | undefined;
  log: Logger;
}

/** How long the transport of a refused connection is kept so that the refusal reaches the client. */
const REFUSED_LINGER_MS = 1000;

export function attachSignaling(io: SignalingIo, deps: SignalingDeps): void {
  io.use(
    (socket, next) =>
      void admitConnection(socket, deps).then(
        () => next(),
        (error: unknown) => next(refusal(socket, error, deps)),
      ),
  );
  io.on('connection', (socket) => onConnection(socket, deps));
}

/** Before any event: the SDK's protocol version, the access token, and (clustered) whether the room is served here. */
async function admitConnection(socket: SignalingSocket, deps: SignalingDeps): Promise<void> {
  const auth = socket.handshake.auth as { token?: unknown; protocolVersion?: unknown; hops?: unknown };
  if (auth.protocolVersion !== undefined && auth.protocolVersion !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'BAD_REQUEST',
      `this page's SDK speaks protocol version ${String(auth.protocolVersion)}, the server ${PROTOCOL_VERSION}: ` +
        'reload the page or update the SDK',
    );
  }
  const { principal, expiresAtMs } = deps.verifier.verifyAccess(auth.token);
  const hops = typeof auth.hops === 'number' && Number.isInteger(auth.hops) && auth.hops >= 0 ? auth.hops : 0;
  if (hops > MAX_ROUTE_HOPS) throw new ProtocolError('UNAVAILABLE', 'the cluster could not settle where this room is served; please retry');
  const routing = deps.routing;
  const audience = isAudience(principal.kind, principal.role);
  const decision = audience ? await routing.routeViewer(principal.room, hops) : await routing.route(principal.room, hops);
  if (!decision.here) throw new ProtocolError('MOVED', 'this room is served by another node', { route: decision.route });
  try {
    socket.once('disconnect', deps.limits.admit(principal.sub, socket.handshake.address));
  } catch (error) {
    decision.seat?.();
    throw error;
  }
  if (decision.seat) socket.once('disconnect', decision.seat);
  socket.data.principal = principal;
  socket.data.tokenExpiresAtMs = expiresAtMs;
  if (decision.edgeOf) socket.data.edge = { origin: decision.edgeOf, token: auth.token as string };
}

function refusal(socket: SignalingSocket, error: unknown, deps: SignalingDeps): Error {
  const wire = (error instanceof ProtocolError ? error : new ProtocolError('UNAUTHENTICATED', 'access token rejected')).toWire();
  deps.log.info({ reason: wire.message, code: wire.code, address: socket.handshake.address }, 'connection refused');
  // A refused client may not close its side: drop the transport once the refusal had time to arrive.
  setTimeout(() => socket.conn.close(), REFUSED_LINGER_MS).unref();
  // socket.io-client surfaces `data` on its connect_error, so the SDK can show the code (and follow MOVED).
  return Object.assign(new Error(wire.message), { data: wire });
}

function onConnection(socket: SignalingSocket, deps: SignalingDeps): void {
  const principal = socket.data.principal;
  const edge = socket.data.edge;
  // First thing on every connection (viewers on an edge too): the client loads its device from this
  // instead of asking — one round trip less before the join.
  socket.emit('routerCapabilities', { rtpCapabilities: routerCapabilities(deps.services) });
  if (edge && deps.edges) return void deps.edges.attach(socket, principal, edge.token, edge.origin);
  const log = deps.log.child({ socket: socket.id, identity: pseudonym(principal.sub), room: principal.room });
  const channel = new SocketChannel(socket);
  const session = new Session(principal, channel, socket.data.tokenExpiresAtMs);
  const ctx: HandlerContext = {
    session,
    channel,
    rooms: deps.rooms,
    services: deps.services,
    log,
    requestTimeoutMs: deps.requestTimeoutMs,
    outcomes: deps.outcomes,
  };

  for (const name of REQUEST_NAMES) {
    socket.on(name, (...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function') return; // every request is a call: without an ack there is no one to answer
      const payload = args.length > 1 ? args[0] : undefined;
      channel.answer(name, () => dispatch(HANDLERS, ctx, name, payload), ack as (r: Ack<unknown>) => void);
    });
  }
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (isRequestName(event)) return;
    const ack = args.at(-1);
    if (typeof ack === 'function') {
      const error = new ProtocolError('BAD_REQUEST', `unknown request "${String(event).slice(0, 64)}"`);
      (ack as (r: Ack<never>) => void)({ ok: false, error: error.toWire() });
    }
  });
  socket.on('disconnect', (reason) => {
    log.debug({ reason }, 'socket disconnected');
    deps.services.preflight?.release(session); // its pre-call tests end with it
    session.takePrepared()?.close(); // and a receive transport no join took
    // A socket whose participant has resumed elsewhere speaks for no one any more.
    const current = session.current;
    if (!current || session.state === 'replaced') return;
    // Closed on purpose by either side: the participant has left; a dropped one may come back.
    current.room.connectionLost(current.participant, reason === 'client namespace disconnect' || reason === 'server namespace disconnect');
  });
}
