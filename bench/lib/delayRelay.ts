/**
 * A long path on loopback: relays TCP and UDP endpoints to others, holding every chunk and datagram
 * `oneWayMs` in each direction. This machine's kernel has no netem, so a benchmark that wants a clinic
 * 40 ms away lets the server's media listen on 127.0.0.2 and this relay take its announced address
 * on 127.0.0.1 (and its HTTP/signaling on another port). Order is kept (equal delays fire in the
 * order they were set). With `downlinkKbps`, each client's UDP downlink (server → that client) is a
 * link of that rate with a router's queue in front: a datagram leaves once those before it have, and is
 * dropped if it would wait more than DOWNLINK_QUEUE_MS (a clinic's line; the uplink is not limited).
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface DelayRelay {
  close(): Promise<void>;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** Where clients connect (`listen`) and where the server really listens (`target`). */
export interface RelayedPath {
  listen: Endpoint;
  target: Endpoint;
}

export interface DelayRelayOptions {
  tcp: RelayedPath[];
  udp: RelayedPath[];
  oneWayMs: number;
  /** Each client's UDP downlink rate (kbit/s); unlimited if absent. */
  downlinkKbps?: number | undefined;
}

/** The most a datagram waits in a limited downlink's queue before it is dropped. */
export const DOWNLINK_QUEUE_MS = 200;

export async function startDelayRelay(options: DelayRelayOptions): Promise<DelayRelay> {
  const { oneWayMs } = options;
  let closed = false;
  // What is still held when the relay closes is dropped, not sent on closed sockets.
  const later = (f: () => void, queuedMs = 0) => void setTimeout(() => closed || f(), oneWayMs + queuedMs);
  const closers: (() => Promise<void>)[] = [];
  for (const path of options.tcp) closers.push(await relayTcp(path, later));
  for (const path of options.udp) closers.push(await relayUdp(path, later, options.downlinkKbps));
  return {
    close: async () => {
      closed = true;
      await Promise.all(closers.map((c) => c()));
    },
  };
}

type Later = (f: () => void, queuedMs?: number) => void;

async function relayTcp({ listen, target }: RelayedPath, later: Later): Promise<() => Promise<void>> {
  const sockets = new Set<net.Socket>();
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => later(() => to.writable && to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    from.on('error', () => later(() => to.destroy()));
    from.on('close', () => sockets.delete(from));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.host, resolve));
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** One upstream socket per client address, so the server sees each client as its own 5-tuple. */
async function relayUdp({ listen, target }: RelayedPath, later: Later, downlinkKbps?: number): Promise<() => Promise<void>> {
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  front.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const socket = dgram.createSocket('udp4');
      const downlink = downlinkKbps ? limitedLink(downlinkKbps) : () => 0;
      socket.on('message', (reply) => {
        const queuedMs = downlink(reply.length);
        if (queuedMs !== undefined) later(() => front.send(reply, from.port, from.address), queuedMs);
      });
      socket.on('error', () => undefined);
      up = socket;
      upstreams.set(key, socket);
    }
    const sendUp = up;
    later(() => sendUp.send(msg, target.port, target.host));
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(listen.port, listen.host, () => resolve());
  });
  return async () => {
    for (const up of upstreams.values()) up.close();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  };
}

/**
 * A link of `kbps` behind a queue: for each datagram, how long it waits until its last bit has left
 * (undefined: the queue is full, dropped). Whole milliseconds are enough for a benchmark's timers.
 */
function limitedLink(kbps: number): (bytes: number) => number | undefined {
  let freeAt = 0; // when the link has sent everything queued so far (performance.now() ms)
  return (bytes) => {
    const now = performance.now();
    const start = Math.max(now, freeAt);
    if (start - now > DOWNLINK_QUEUE_MS) return undefined;
    freeAt = start + (bytes * 8) / kbps;
    return freeAt - now;
  };
}
