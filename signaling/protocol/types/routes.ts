/**
 * A route is where clients reach a node: a URL of its own (`http://10.0.0.12:3000`) or a path prefix
 * behind one public host (`https://consult.example.cn/n2`). Both ends derive the same addresses from
 * it: everything the node serves at `/x` is also at `<prefix>/x` — Socket.IO at `<prefix>/socket.io`,
 * liveness at `<prefix>/healthz`.
 */

/** The path in front of everything a route's node serves: '' for a URL without one, '/n2' for `…/n2/`. */
export function routePrefix(route: string | URL): string {
  const { pathname } = typeof route === 'string' ? new URL(route) : route;
  return pathname.replace(/\/+$/, '');
}

/** `<route>/<path>`: an address the route's node serves (e.g. `healthz`), whatever its prefix. */
export function routeUrl(route: string, path: string): URL {
  return new URL(`${routePrefix(route)}/${path.replace(/^\/+/, '')}`, route);
}

/**
 * What a Socket.IO client needs to reach a route (or an entry URL): its origin, and the endpoint's
 * path as the `path` option. Given the whole URL, Socket.IO would read `/n2` as a namespace instead.
 * `base` resolves a relative URL (a page's own address in a browser).
 */
export function socketEndpoint(url: string, base?: string): { origin: string; path: string } {
  const parsed = new URL(url, base);
  return { origin: parsed.origin, path: `${routePrefix(parsed)}/socket.io` };
}
