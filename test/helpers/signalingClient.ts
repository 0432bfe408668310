/**
 * A bare Socket.IO client for integration tests: requests typed from the protocol (renaming a request
 * or a field breaks the tests at compile time), raw sends for malformed input, and a log of
 * notifications.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  JoinResponse,
  NotificationMap,
  NotificationName,
  RequestName,
  RequestPayload,
  RequestResult,
  WireError,
  WireRtpParameters,
} from '../../signaling/protocol/index.js';
import { socketEndpoint } from '../../signaling/protocol/index.js';

export interface TestClient {
  socket: Socket;
  request<N extends RequestName>(name: N, payload?: RequestPayload<N>): Promise<Ack<RequestResult<N>>>;
  /** Sends anything under any name: for malformed and unknown requests. */
  raw(name: string, payload?: unknown): Promise<Ack<unknown>>;
  /** Resolves with the next notification of that name matching `where`, or rejects after timeoutMs. */
  next<N extends NotificationName>(name: N, where?: (p: NotificationMap[N]) => boolean, timeoutMs?: number): Promise<NotificationMap[N]>;
  received: { name: string; payload: unknown }[];
  close(): void;
}

/** `auth`: more handshake fields (e.g. `hops`, the MOVED answers already followed in a cluster). */
export function connect(url: string, token: string | undefined, auth: Record<string, unknown> = {}): Promise<TestClient> {
  // A URL with a path (a node's route behind one public host) is reached at `<path>/socket.io`.
  const { origin, path } = socketEndpoint(url);
  const socket = io(origin, {
    path,
    auth: token === undefined ? auth : { ...auth, token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const received: TestClient['received'] = [];
  socket.onAny((name: string, payload: unknown) => received.push({ name, payload }));
  const raw = (name: string, payload?: unknown): Promise<Ack<never>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${name}`)), 10_000);
      const done = (ack: Ack<never>) => {
        clearTimeout(timer);
        resolve(ack);
      };
      if (payload === undefined) socket.emit(name, done);
      else socket.emit(name, payload, done);
    });
  const client: TestClient = {
    socket,
    received,
    request: (name, payload) => raw(name, payload),
    raw,
    next: (name, where = () => true, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          socket.off(name as string, handler as (...args: unknown[]) => void);
          reject(new Error(`no "${name}" notification within ${timeoutMs} ms`));
        }, timeoutMs);
        const handler = (payload: never) => {
          if (!where(payload)) return;
          clearTimeout(timer);
          socket.off(name as string, handler as (...args: unknown[]) => void);
          resolve(payload);
        };
        socket.on(name as string, handler as (...args: unknown[]) => void);
      }),
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (error: Error & { data?: WireError }) => {
      socket.close();
      reject(Object.assign(error, { wire: error.data }));
    });
  });
}

/** Unwraps an ack that must be ok. */
export function ok<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`request failed: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

/** Unwraps an ack that must be an error. */
export function err(ack: Ack<unknown>): WireError {
  if (ack.ok) throw new Error(`request unexpectedly succeeded: ${JSON.stringify(ack.data).slice(0, 200)}`);
  return ack.error;
}

/** RTP parameters of a three-layer VP8 simulcast camera, as Chromium sends them. */
export function fakeSimulcastParameters(baseSsrc: number): WireRtpParameters {
  const vp8 = {
    mimeType: 'video/VP8',
    payloadType: 101,
    clockRate: 90000,
    parameters: {},
    rtcpFeedback: [{ type: 'nack' }, { type: 'ccm', parameter: 'fir' }],
  };
  return {
    codecs: [vp8],
    headerExtensions: [],
    encodings: [0, 1, 2].map((i) => ({
      ssrc: baseSsrc + i,
      scaleResolutionDownBy: 4 / 2 ** i,
      maxBitrate: [150_000, 500_000, 1_200_000][i],
    })),
    rtcp: { cname: `cname-${baseSsrc}`, reducedSize: true },
  };
}

/** RTP parameters a browser would send for an Opus microphone or a VP8 camera. */
export function fakeRtpParameters(kind: 'audio' | 'video', ssrc: number): WireRtpParameters {
  const codec =
    kind === 'audio'
      ? { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }
      : { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }] };
  return { codecs: [codec], headerExtensions: [], encodings: [{ ssrc }], rtcp: { cname: `cname-${ssrc}`, reducedSize: true } };
}

/** Connects and joins; returns the raw join ack too (it may be "waiting" in a locked room). */
export async function connectAndJoin(url: string, token: string): Promise<{ client: TestClient; caps: unknown; ack: Ack<JoinResponse> }> {
  const client = await connect(url, token);
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  const ack = await client.request('join', { rtpCapabilities });
  return { client, caps: rtpCapabilities, ack };
}
