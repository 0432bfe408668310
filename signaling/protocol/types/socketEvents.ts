/** Socket.IO event maps derived from the protocol, so both ends' sockets are typed the same way. */
import type { Ack } from './errors.js';
import type { NotificationMap, NotificationName } from './notifications.js';
import type { RequestName, ResponseMap } from './requests.js';

export type ClientToServerEvents = {
  [N in RequestName]: (payload: unknown, ack: (response: Ack<ResponseMap[N]>) => void) => void;
};

export type ServerToClientEvents = {
  [N in NotificationName]: (payload: NotificationMap[N]) => void;
};

/** What the client sends in the Socket.IO handshake (`auth`). */
export interface HandshakeAuth {
  token: string;
  protocolVersion?: number;
  /** How many MOVED answers this connection has followed (a cluster redirects at most twice). */
  hops?: number;
}

/** Redirects a client follows before giving up: entry node → placed node → the race's winner. */
export const MAX_ROUTE_HOPS = 2;
