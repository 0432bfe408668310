/**
 * A node behind one public host is reached under a path of its own (its route,
 * `https://consult.example.cn/n2`). It serves everything at `<prefix>/x` as well as at `/x`: a reverse
 * proxy may pass the path on unchanged or strip it, and the node's own address keeps working for
 * direct access (probes from other nodes, operators).
 */
import type http from 'node:http';

/**
 * Takes `prefix` off every request before any other listener sees it — express (health, SDK, demo)
 * and Socket.IO's engine (which hooks both `request` and `upgrade`) — so that neither knows about it.
 * Call it after Socket.IO is attached: its engine replaces the `request` listeners present then.
 */
export function servePathPrefix(server: http.Server, prefix: string): void {
  if (prefix === '') return;
  const strip = (req: http.IncomingMessage) => {
    const url = req.url ?? '/';
    if (url !== prefix && !url.startsWith(`${prefix}/`) && !url.startsWith(`${prefix}?`)) return;
    const rest = url.slice(prefix.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
  };
  server.prependListener('request', strip);
  server.prependListener('upgrade', strip);
}
