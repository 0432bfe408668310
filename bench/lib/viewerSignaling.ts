/**
 * The viewer's signaling plumbing: one Socket.IO connection speaking the room protocol, requests
 * answered through acks within a per-request timeout, and a shutdown that fails at once whatever is
 * still awaiting an answer (rather than letting it run into its timeout).
 */
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  type Ack,
  type ClientToServerEvents,
  type RequestName,
  type RequestPayload,
  type ResponseMap,
  type ServerToClientEvents,
} from '../../signaling/protocol/index.js';

export type ViewerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** `promise`, or a rejection "<what>: no result within <ms> ms" if it has not settled by then. */
export function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface ViewerSignalingOptions {
  url: string;
  token: string;
  requestTimeoutMs: number;
  log: (line: string) => void;
  /** MOVED answers already followed (a cluster redirects at most twice). */
  hops?: number;
}

export class ViewerSignaling {
  /** The socket, for the server's notifications; requests go through `request`. */
  readonly socket: ViewerSocket;
  readonly #options: ViewerSignalingOptions;
  #closed = false;
  /** Rejecters of requests awaiting an answer: a shutdown fails them at once. */
  readonly #pending = new Set<(error: Error) => void>();

  /** Starts connecting at once (no reconnection: a lost connection ends the session). */
  constructor(options: ViewerSignalingOptions) {
    this.#options = options;
    this.socket = io(options.url, {
      auth: { token: options.token, protocolVersion: PROTOCOL_VERSION, hops: options.hops ?? 0 },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: options.requestTimeoutMs,
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Resolves once connected; rejects if the connection attempt fails. */
  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      // The server's refusal (e.g. MOVED with the route of the node serving the room) rides along as `wire`.
      this.socket.once('connect_error', (error: Error & { data?: unknown }) =>
        reject(Object.assign(new Error(`signaling connect failed: ${error.message}`), { wire: error.data })),
      );
    });
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>, timeoutMs = this.#options.requestTimeoutMs): Promise<ResponseMap[N]> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new Error(`${name}: viewer closed`));
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.#pending.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`${name}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.add(fail);
      this.#options.log(`→ ${name}`);
      const emit = this.socket.emit.bind(this.socket) as unknown as (
        event: string,
        payload: unknown,
        ack: (ack: Ack<ResponseMap[N]>) => void,
      ) => void;
      emit(name, payload, (ack) => {
        clearTimeout(timer);
        this.#pending.delete(fail);
        this.#options.log(`← ${name} ${ack.ok ? 'ok' : ack.error.code}`);
        if (ack.ok) resolve(ack.data);
        else reject(ProtocolError.fromWire(ack.error));
      });
    });
  }

  /** Drops every listener, closes the socket and fails the pending requests with "viewer <reason>". */
  close(reason: string): void {
    this.#closed = true;
    this.socket.removeAllListeners();
    this.socket.close();
    for (const fail of [...this.#pending]) fail(new Error(`viewer ${reason}`));
  }
}
