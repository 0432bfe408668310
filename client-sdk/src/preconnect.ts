/**
 * The signaling connection opened ahead of a join (`ConsultationClient.preconnect()`, e.g. on the
 * pre-join screen while the person looks at the preview): the join then starts on an open socket
 * with the router's capabilities already pushed — the socket's two round trips (WebSocket upgrade,
 * Socket.IO connect with the token) are off the first picture's path. One per page; the join adopts
 * it only for the same server and token, still open, with the token not yet expired (the server
 * refuses a join on a connection whose token has expired), and closes it otherwise.
 */
import { prepareReceive, type PreparedReceive } from './receiveAhead.js';
import { SignalingConnection } from './SignalingConnection.js';
import { readToken } from './TokenClock.js';

interface Held {
  url: string;
  token: string;
  connection: Promise<SignalingConnection>;
  /** The receive transport made ahead on it (receiveAhead.ts); undefined when none could be. */
  receive: Promise<PreparedReceive | undefined>;
}

/** What a join takes over: the open connection, and the receive transport made ahead on it if any. */
export interface Preconnected {
  connection: SignalingConnection;
  receive: PreparedReceive | undefined;
}

/** How long a join waits for a transport still being prepared before it makes its own instead. */
const PREPARED_WAIT_MS = 1000;

let held: Held | undefined;

/** Opens (or keeps) the connection for `url` and `token`; rejects as the server refuses it. */
export async function preconnect(url: string, token: string): Promise<void> {
  if (!held || held.url !== url || held.token !== token) {
    void discardPreconnected();
    const connection = SignalingConnection.connect({ url, token });
    const receive = connection.then(prepareReceive).catch(() => undefined);
    const mine: Held = { url, token, connection, receive };
    held = mine;
    connection.catch(() => {
      if (held === mine) held = undefined;
    });
  }
  await held.connection;
}

/**
 * The connection opened ahead for this `url` and `token`, if it can still be used, with its prepared
 * receive transport (awaited a moment if still being made; one not ready by then is closed and the
 * join makes its own); handed over once.
 */
export async function takePreconnected(url: string, token: string): Promise<Preconnected | undefined> {
  const taken = held;
  held = undefined;
  if (!taken) return undefined;
  const connection = await taken.connection.catch(() => undefined);
  if (!connection) return undefined;
  const exp = readToken(token).exp;
  const usable = taken.url === url && taken.token === token && connection.connected && (exp === undefined || exp * 1000 > Date.now());
  if (!usable) {
    closeAll(taken, connection);
    return undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), PREPARED_WAIT_MS)));
  const receive = await Promise.race([taken.receive, late]);
  clearTimeout(timer);
  if (receive === 'late') void taken.receive.then((r) => r?.transport.close()); // the server closes its side at the join
  return { connection, receive: receive === 'late' || receive?.transport.closed ? undefined : receive };
}

/** Closes a connection opened ahead that no join took. */
async function discardPreconnected(): Promise<void> {
  const taken = held;
  held = undefined;
  const connection = await taken?.connection.catch(() => undefined);
  if (taken && connection) closeAll(taken, connection);
}

/** The connection and, in the page, the receive transport made ahead on it (its peer connection and tracks). */
function closeAll(taken: Held, connection: SignalingConnection): void {
  connection.close();
  void taken.receive.then((r) => r?.transport.close());
}
