/** A local HTTP receiver on 127.0.0.1 that can be down (connection refused), then up on the same port. */
import http from 'node:http';
import net from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: ReceivedRequest) => { status: number; body?: unknown; headers?: Record<string, string> };

export interface Receiver {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (so connecting is refused until the receiver starts). */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function createReceiver(handler: Handler): Promise<Receiver> {
  const port = await unusedPort();
  const requests: ReceivedRequest[] = [];
  let server: http.Server | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    start: () =>
      new Promise((resolve, reject) => {
        server = http.createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            const r: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
            requests.push(r);
            const out = handler(r);
            res.writeHead(out.status, { 'content-type': 'application/json', ...out.headers });
            res.end(out.body === undefined ? '' : JSON.stringify(out.body));
          });
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    stop: () =>
      new Promise((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}
