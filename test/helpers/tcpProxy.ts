/**
 * A loopback TCP proxy in front of a server's port (the media server's HTTP/Socket.IO, Redis, a TURN
 * server), so a test can cut one link (as a proxy restart, a network blip or a partition would) or
 * slow it down, while every other path between the same processes keeps working.
 */
import net from 'node:net';
import { TurnFrameSplitter } from './turnFrames.js';

/**
 * How new connections fare while the link is cut: `refuse` closes them at once (a peer that resets),
 * `blackhole` accepts them and never answers (a partition: the client must time out by itself).
 */
export type CutMode = 'refuse' | 'blackhole';

export interface TcpProxy {
  url: string;
  port: number;
  /** Drops every open connection; new ones are refused or blackholed until `restore()`. */
  cut(mode?: CutMode): void;
  /** Forwards new connections again; connections held by a blackhole are dropped (their peer reconnects). */
  restore(): void;
  /** Holds every chunk this long in each direction (a long or congested path); 0 forwards at once. */
  setDelay(ms: number): void;
  /**
   * Loses this fraction (0–1) of the relayed packets sent towards the client (a lossy downlink); only
   * for a proxy started with `{ turn: true }`, which forwards TURN-over-TCP message by message.
   */
  setLoss(fraction: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, options: { turn?: boolean } = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  /** Connections accepted during a blackhole cut: never forwarded, dropped when the link returns. */
  const held = new Set<net.Socket>();
  let cut: CutMode | undefined;
  let delayMs = 0;
  let loss = 0;
  const send = (to: net.Socket, chunk: Buffer) => {
    if (delayMs === 0) to.write(chunk);
    else setTimeout(() => to.writable && to.write(chunk), delayMs);
  };
  /** Forwards `from` → `to`, each chunk after the current delay (equal delays keep the order). */
  const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk: Buffer) => send(to, chunk));
  /** Towards the client, TURN message by message: relayed packets may be lost, the rest always passes. */
  const forwardLossy = (from: net.Socket, to: net.Socket) => {
    const frames = new TurnFrameSplitter();
    from.on('data', (chunk: Buffer) => {
      for (const { frame, channelData } of frames.push(chunk)) if (!channelData || Math.random() >= loss) send(to, frame);
    });
  };
  const server = net.createServer((client) => {
    if (cut === 'refuse') return client.destroy();
    if (cut === 'blackhole') {
      held.add(client);
      client.on('close', () => held.delete(client));
      client.on('error', () => undefined);
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    forward(client, upstream);
    if (options.turn) forwardLossy(upstream, client);
    else forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const s of [...sockets, ...held]) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    cut(mode = 'refuse') {
      cut = mode;
      dropAll();
    },
    restore() {
      cut = undefined;
      for (const s of held) s.destroy();
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setLoss(fraction) {
      if (!options.turn) throw new Error('packet loss needs a proxy that reads TURN framing: startTcpProxy(port, { turn: true })');
      loss = fraction;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
