/**
 * A loopback reverse proxy with one public host and a path per node, as nginx is configured in the
 * README ("Behind one public host"): `<prefix>/…` goes to that node with the path unchanged, HTTP
 * requests (long-polling, /healthz) and WebSocket upgrades alike; any other path goes to the entry
 * node if one is routed (`route('', port)`), else 404.
 */
import http from 'node:http';
import net from 'node:net';

export interface PathProxy {
  url: string;
  /** Sends `<prefix>` and everything under it to 127.0.0.1:`port`; prefix '' = every other path (the entry). */
  route(prefix: string, port: number): void;
  unroute(prefix: string): void;
  /** `METHOD path` of every request and `UPGRADE path` of every upgrade it forwarded, in order. */
  forwarded: string[];
  close(): Promise<void>;
}

export async function startPathProxy(): Promise<PathProxy> {
  const routes = new Map<string, number>();
  const forwarded: string[] = [];
  const sockets = new Set<net.Socket>();
  const agent = new http.Agent({ keepAlive: false });
  // The longest prefix that matches: '' (the host's entry, any node) only when no node's does.
  const target = (url = '/') =>
    [...routes]
      .sort(([a], [b]) => b.length - a.length)
      .find(([prefix]) => url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`))?.[1];

  const server = http.createServer((req, res) => {
    const port = target(req.url);
    if (port === undefined) return void res.writeHead(404).end('no such node');
    forwarded.push(`${req.method} ${req.url}`);
    const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const port = target(req.url);
    if (port === undefined) return void client.destroy();
    forwarded.push(`UPGRADE ${req.url}`);
    const upstream = net.connect(port, '127.0.0.1', () => {
      // The handshake as received, then both directions as they come.
      const headers = req.rawHeaders.reduce((lines, value, i) => lines + (i % 2 === 0 ? `${value}: ` : `${value}\r\n`), '');
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    route: (prefix, port) => void routes.set(prefix, port),
    unroute: (prefix) => void routes.delete(prefix),
    forwarded,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
