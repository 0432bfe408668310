/**
 * The SDK's signaling link: an authenticated Socket.IO connection, typed requests that resolve with
 * the server's data or reject with a ProtocolError, and typed notifications. When the socket drops
 * unexpectedly it says so (`lost`); `reconnect()` opens a new socket behind the same object, so every
 * listener stays attached. It keeps two addresses: the entry URL the app gave (a load balancer, or any
 * node) and the node that serves the room (where MOVED led); `reconnect({ viaEntry: true })` asks the
 * entry again, for when that node has gone away.
 */
import { io, type Socket } from 'socket.io-client';
import {
  MAX_ROUTE_HOPS,
  PROTOCOL_VERSION,
  ProtocolError,
  socketEndpoint,
  type Ack,
  type ClientToServerEvents,
  type HandshakeAuth,
  type NotificationMap,
  type NotificationName,
  type RequestName,
  type RequestPayload,
  type RequestResult,
  type ServerToClientEvents,
  type WireError,
} from '../../signaling/protocol/types/index.js';
import { TypedEmitter } from './TypedEmitter.js';

type NotificationEvents = { [N in NotificationName]: [NotificationMap[N]] } & { lost: [reason: string] };

/**
 * Nothing answered at `url` (refused, reset, timed out): the node is down or the network is. An
 * UNAVAILABLE error, so callers that only retry UNAVAILABLE keep doing so; `url` tells whether it was
 * the entry itself or a node it sent us to.
 */
export class NodeUnreachableError extends ProtocolError {
  readonly url: string;

  constructor(url: string, cause: string) {
    super('UNAVAILABLE', `cannot reach the media server at ${url}: ${cause}`);
    this.url = url;
  }
}
type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type RouterCapabilities = NotificationMap['routerCapabilities']['rtpCapabilities'];

/**
 * The server pushes its router capabilities right behind the connection's acceptance; if they have
 * not come within this, they are asked for (a server that does not push them).
 */
const PUSHED_CAPABILITIES_WAIT_MS = 500;

export interface ConnectionOptions {
  url: string;
  token: string;
  /** Milliseconds to wait for the server to answer one request. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export class SignalingConnection extends TypedEmitter<NotificationEvents> {
  readonly #options: ConnectionOptions;
  #socket: ClientSocket | undefined;
  #closed = false;
  #url: string;
  #token: string;
  /** What the current socket's server pushed on connecting (see routerCapabilities()). */
  #pushedCapabilities: Promise<RouterCapabilities> = new Promise(() => undefined);

  private constructor(options: ConnectionOptions) {
    super();
    this.#options = options;
    this.#url = options.url;
    this.#token = options.token;
  }

  static async connect(options: ConnectionOptions): Promise<SignalingConnection> {
    const connection = new SignalingConnection(options);
    await connection.reconnect();
    return connection;
  }

  get connected(): boolean {
    return this.#socket?.connected ?? false;
  }

  /**
   * Opens a fresh socket (the first one, or after a drop). Rejects with the server's reason, or a
   * NodeUnreachableError. In a cluster, a node that does not serve the room answers MOVED with the
   * node that does: followed at once, at most MAX_ROUTE_HOPS times, and remembered so that a later
   * reconnect (resume) goes straight there. `viaEntry`: start from the entry URL again instead.
   */
  async reconnect(options: { viaEntry?: boolean } = {}): Promise<void> {
    if (this.#closed) throw new ProtocolError('WRONG_STATE', 'this connection was closed');
    if (options.viaEntry) this.#url = this.#options.url;
    for (let hops = 0; ; hops++) {
      try {
        return await this.#open(hops);
      } catch (error) {
        const route = error instanceof ProtocolError && error.code === 'MOVED' ? error.details?.['route'] : undefined;
        if (!route || hops >= MAX_ROUTE_HOPS) throw error;
        this.#url = route;
      }
    }
  }

  /** The node this connection talks to (after any MOVED it followed). */
  get url(): string {
    return this.#url;
  }

  /** The URL the app gave: where a connection starts when the serving node is not known (or gone). */
  get entryUrl(): string {
    return this.#options.url;
  }

  /** A fresh access token (the last one expired) for the next `reconnect()`. */
  useToken(token: string): void {
    this.#token = token;
  }

  #open(hops: number): Promise<void> {
    this.#socket?.removeAllListeners().close();
    const auth: HandshakeAuth = { token: this.#token, protocolVersion: PROTOCOL_VERSION, hops };
    const url = this.#url;
    // A URL with a path (a node behind one public host, `https://consult.example.cn/n2`) is reached
    // at that path's Socket.IO endpoint; a relative entry URL is resolved against the page.
    const { origin, path } = socketEndpoint(url, globalThis.location?.href);
    // Reconnection is decided above (a new socket must resume its participant), not by socket.io.
    const socket: ClientSocket = io(origin, {
      path,
      auth,
      reconnection: false,
      forceNew: true,
      timeout: this.#options.connectTimeoutMs ?? 10_000,
      transports: ['websocket', 'polling'],
    });
    this.#socket = socket;
    this.#pushedCapabilities = new Promise((resolve) =>
      socket.once('routerCapabilities', ({ rtpCapabilities }) => resolve(rtpCapabilities)),
    );
    return new Promise((resolve, reject) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        // close() was called while this socket was opening: it must not come alive behind the caller.
        if (this.#closed) {
          socket.close();
          return reject(new ProtocolError('WRONG_STATE', 'this connection was closed'));
        }
        socket.onAny((event: string, payload: unknown) => this.emit(event as NotificationName, payload as never));
        socket.on('disconnect', (reason) => {
          // "io client disconnect" is our own close(); anything else is a lost connection.
          if (!this.#closed && reason !== 'io client disconnect') this.emit('lost', reason);
        });
        resolve();
      });
      socket.once('connect_error', (error: Error & { data?: WireError }) => {
        socket.close();
        reject(error.data ? ProtocolError.fromWire(error.data) : new NodeUnreachableError(url, error.message));
      });
    });
  }

  /**
   * The router capabilities of the node this connection talks to, for loading the media device: the
   * ones it pushed on connecting (no round trip), else asked for.
   */
  async routerCapabilities(): Promise<RouterCapabilities> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const asked = new Promise<RouterCapabilities>((resolve, reject) => {
      timer = setTimeout(
        () => void this.request('getRouterRtpCapabilities', {}).then((r) => resolve(r.rtpCapabilities), reject),
        PUSHED_CAPABILITIES_WAIT_MS,
      );
    });
    try {
      return await Promise.race([this.#pushedCapabilities, asked]);
    } finally {
      clearTimeout(timer);
    }
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>): Promise<RequestResult<N>> {
    const socket = this.#socket;
    if (!socket?.connected) return Promise.reject(new ProtocolError('UNAVAILABLE', `not connected to the media server (${name})`));
    const timeoutMs = this.#options.requestTimeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const timed = socket.timeout(timeoutMs);
      const emit = timed.emit as (
        event: string,
        payload: unknown,
        ack: (err: Error | null, response: Ack<RequestResult<N>>) => void,
      ) => void;
      emit.call(timed, name, payload, (err, response) => {
        if (err) reject(new ProtocolError('UNAVAILABLE', `no answer from the server to "${name}" within ${timeoutMs} ms`));
        else if (response.ok) resolve(response.data);
        else reject(ProtocolError.fromWire(response.error));
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket?.close();
  }
}
