/**
 * The SDK's signaling link: one authenticated Socket.IO connection, typed requests that resolve with
 * the server's data or reject with a ProtocolError, and typed notifications.
 */
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  ProtocolError,
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
} from '../../signaling/protocol/index.js';
import { TypedEmitter } from './TypedEmitter.js';

type NotificationEvents = { [N in NotificationName]: [NotificationMap[N]] } & { disconnected: [reason: string] };

export interface ConnectionOptions {
  url: string;
  token: string;
  /** Milliseconds to wait for the server to answer one request. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export class SignalingConnection extends TypedEmitter<NotificationEvents> {
  readonly #socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly #timeoutMs: number;

  private constructor(socket: Socket<ServerToClientEvents, ClientToServerEvents>, timeoutMs: number) {
    super();
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.onAny((event: string, payload: unknown) => this.emit(event as NotificationName, payload as never));
    socket.on('disconnect', (reason) => this.emit('disconnected', reason));
  }

  static connect(options: ConnectionOptions): Promise<SignalingConnection> {
    const auth: HandshakeAuth = { token: options.token, protocolVersion: PROTOCOL_VERSION };
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(options.url, {
      auth,
      // Reconnection is decided by the client above (a new socket needs a fresh join).
      reconnection: false,
      timeout: options.connectTimeoutMs ?? 10_000,
      transports: ['websocket', 'polling'],
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        resolve(new SignalingConnection(socket, options.requestTimeoutMs ?? 15_000));
      });
      socket.once('connect_error', (error: Error & { data?: WireError }) => {
        socket.close();
        reject(error.data ? ProtocolError.fromWire(error.data) : new ProtocolError('UNAVAILABLE', `cannot reach the media server at ${options.url}: ${error.message}`));
      });
    });
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>): Promise<RequestResult<N>> {
    return new Promise((resolve, reject) => {
      const emit = this.#socket.timeout(this.#timeoutMs).emit as (event: string, payload: unknown, ack: (err: Error | null, response: Ack<RequestResult<N>>) => void) => void;
      emit.call(this.#socket.timeout(this.#timeoutMs), name, payload, (err, response) => {
        if (err) reject(new ProtocolError('UNAVAILABLE', `no answer from the server to "${name}" within ${this.#timeoutMs} ms`));
        else if (response.ok) resolve(response.data);
        else reject(ProtocolError.fromWire(response.error));
      });
    });
  }

  close(): void {
    this.#socket.close();
  }
}
