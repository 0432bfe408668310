/**
 * The programme page and its API:
 * - `GET /watch/<room>`: the page patients open from a link (a viewer token, if any, is in the
 *   fragment `#token=…`, which browsers never send to a server, proxy log or Referer);
 * - `GET /api/programmes/<room>`: its view (state, viewers, where to watch), `Authorization: Bearer`
 *   optional (a registered-only programme shows where to watch only with a token for its room);
 *   clustered, answered by the node serving the room (this node asks it: the page stays on one host);
 * - `PUT /api/programmes/<room>`: create or edit, with a moderator's access token for that room;
 * - `/vendor/hls.min.js` (HLS where the browser has no player of its own), `/replays/…` (kept VOD),
 *   and the HLS players' playlist reloads counted as viewers.
 */
import express from 'express';
import { createRequire } from 'node:module';
import path from 'node:path';
import { issuesToDetails, ProgrammeDetails, ProtocolError, RoomId, routeUrl, type AccessClaims } from '../../signaling/protocol/index.js';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import { HLS_URL_PREFIX } from '../media/HlsService.js';
import type { HlsWatchers } from '../programmes/HlsWatchers.js';
import type { ProgrammeService } from '../programmes/ProgrammeService.js';
import { REPLAY_URL_PREFIX } from '../programmes/ReplayArchive.js';

export interface ProgrammeRouterDeps {
  programmes: ProgrammeService;
  verifier: TokenVerifier;
  watchers: HlsWatchers;
  replayRoot: string;
  publicDir: string;
}

const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
/** On a view one node asks another for: answered there, never passed on again (a room moving meanwhile). */
const ASKED_BY_NODE = 'x-programme-asked-by-node';
const NODE_ASK_TIMEOUT_MS = 2000;
/** How long a view asked of another node for a page without a token is reused for the next pages. */
const ANONYMOUS_VIEW_TTL_MS = 1000;
const WATCHER_ID = /^[A-Za-z0-9]{8,40}$/;

const bearer = (req: express.Request): string | undefined => {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
};

interface NodeAnswer {
  status: number;
  body: unknown;
}

/** Asks the node serving `room` for its programme's view, with the page's token if it has one. */
async function askNode(route: string, room: string, authorization: string | undefined): Promise<NodeAnswer> {
  const headers: Record<string, string> = { [ASKED_BY_NODE]: '1' };
  if (authorization) headers['authorization'] = authorization;
  try {
    const answer = await fetch(routeUrl(route, `api/programmes/${encodeURIComponent(room)}`), {
      headers,
      signal: AbortSignal.timeout(NODE_ASK_TIMEOUT_MS),
    });
    return { status: answer.status, body: await answer.json() };
  } catch {
    // The page keeps what it showed and asks again at its next poll.
    throw new ProtocolError('UNAVAILABLE', 'the server running this programme is not answering; please retry in a few seconds', {
      retryAfterSeconds: '3',
    });
  }
}

function fail(res: express.Response, error: unknown): void {
  const wire = (error instanceof ProtocolError ? error : new ProtocolError('INTERNAL', 'the programme could not be saved')).toWire();
  res.status(wire.status).json({ error: wire });
}

export function programmeRouter(deps: ProgrammeRouterDeps): express.Router {
  const router = express.Router();
  // Asked of another node without a token, a view is the same for every patient: kept a moment.
  const anonymousViews = new Map<string, NodeAnswer & { until: number }>();
  const viewFrom = async (route: string, room: string, authorization: string | undefined): Promise<NodeAnswer> => {
    if (authorization) return askNode(route, room, authorization);
    const kept = anonymousViews.get(room);
    if (kept && kept.until > Date.now()) return kept;
    const answer = await askNode(route, room, undefined);
    anonymousViews.set(room, { ...answer, until: Date.now() + ANONYMOUS_VIEW_TTL_MS });
    return answer;
  };

  /** A valid token in the request, or none: an expired link still shows a public programme. */
  const optionalClaims = (req: express.Request): AccessClaims | undefined => {
    const token = bearer(req);
    if (!token) return undefined;
    try {
      return deps.verifier.verify(token);
    } catch {
      return undefined;
    }
  };
  const roomOf = (req: express.Request): string => {
    const room = RoomId.safeParse(req.params['room']);
    if (!room.success) throw new ProtocolError('NOT_FOUND', 'no such programme');
    return room.data;
  };

  router.get('/watch/:room', (req, res) => {
    if (!RoomId.safeParse(req.params['room']).success)
      return res.status(404).type('text/plain; charset=utf-8').send('未找到节目 · no such programme');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(deps.publicDir, 'watch.html'));
  });

  router.get('/api/programmes/:room', async (req, res) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      const room = roomOf(req);
      const servedAt = req.headers[ASKED_BY_NODE] ? undefined : await deps.programmes.servedElsewhere(room);
      if (servedAt) {
        const { status, body } = await viewFrom(servedAt, room, req.headers.authorization);
        return res.status(status).json(body);
      }
      res.json(deps.programmes.view(room, optionalClaims(req)));
    } catch (error) {
      fail(res, error);
    }
  });

  router.put('/api/programmes/:room', express.json({ limit: '16kb' }), async (req, res) => {
    try {
      const claims = deps.verifier.verify(bearer(req));
      const details = ProgrammeDetails.safeParse(req.body);
      if (!details.success) throw new ProtocolError('BAD_REQUEST', 'invalid programme', issuesToDetails(details.error.issues));
      res.setHeader('Cache-Control', 'no-store');
      res.json(await deps.programmes.save(claims, roomOf(req), details.data));
    } catch (error) {
      fail(res, error);
    }
  });

  // The page's players reload the live playlist with `?w=<their id>`: that is how HLS viewers are counted.
  router.get(`${HLS_URL_PREFIX}/:key/index.m3u8`, (req, res, next) => {
    const watcher = req.query['w'];
    if (typeof watcher === 'string' && WATCHER_ID.test(watcher)) deps.watchers.saw(String(req.params['key']), watcher);
    next();
  });

  router.get('/vendor/hls.min.js', (_req, res) => res.sendFile(HLS_JS, { maxAge: '1d' }));
  router.use(REPLAY_URL_PREFIX, express.static(deps.replayRoot, { index: false, dotfiles: 'deny', maxAge: '1h' }));
  return router;
}
