/**
 * The HTTP face of ingest:
 *
 * - `POST /ingest`, `GET /ingest?room=`, `GET /ingest/:id`, `DELETE /ingest/:id`: the hospital
 *   system (an admin token, or a moderator's access token for that room) creates, lists, inspects and
 *   revokes ingests. JSON, errors as `{ error: { code, status, message } }`.
 * - WHIP (RFC 9725) under `/whip/:id`, with the ingest's token as bearer: POST an SDP offer → 201, the
 *   answer and the session's Location; PATCH that Location (`application/trickle-ice-sdpfrag`) for
 *   trickle (accepted and ignored: the server is ICE-lite) or an ICE restart; DELETE it to end the
 *   programme. Errors are plain text, which encoders show in their logs.
 */
import express from 'express';
import {
  forbidden,
  IngestRestRequest,
  issuesToDetails,
  MAX_ROUTE_HOPS,
  permissionsFor,
  ProtocolError,
  routeUrl,
  type Site,
} from '../../signaling/protocol/index.js';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import type { RoomRouting } from '../cluster/routing.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { IngestService } from './IngestService.js';
import { MAX_SDP_BYTES, SdpError } from './sdp.js';
import { UnacceptableOfferError } from './whipOffer.js';
import { WhipSession } from './WhipSession.js';

export interface IngestRouterDeps {
  ingests: IngestService;
  rooms: RoomRegistry;
  verifier: TokenVerifier;
  /**
   * Where each room is served. Clustered, an encoder's programme runs on its room's node: a WHIP
   * offer reaching another node is passed on to it, and so is the creation of an RTMP ingest (its
   * listener is on the node that creates it).
   */
  routing: RoomRouting;
  /** This node's public route when clustered (WHIP session URLs name it); undefined on a single node. */
  ownRoute: () => string | undefined;
  log: Logger;
}

const bearer = (req: express.Request): string | undefined => {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
};

/** Who may manage ingests of `roomId`: an operator (admin token), or a moderator of that very room. */
interface Manager {
  by: string;
  /** A moderator's site (their token's): the encoder's when the request names none. */
  site: Site | undefined;
  /** The room a moderator's token is for; undefined for an operator. */
  room: string | undefined;
  kind: 'broadcast' | 'training' | undefined;
  caseId: string | undefined;
}

function manager(verifier: TokenVerifier, token: string | undefined): Manager {
  try {
    const admin = verifier.verifyAdmin(token);
    return { by: `admin:${admin.sub}`, site: undefined, room: undefined, kind: undefined, caseId: undefined };
  } catch {
    const principal = verifier.verify(token); // throws UNAUTHENTICATED for anything else
    if (!permissionsFor(principal.kind, principal.role).has('moderate'))
      throw forbidden(`a ${principal.role} may not manage encoder ingests; a moderator's or an admin token is needed`);
    const kind = principal.kind === 'broadcast' || principal.kind === 'training' ? principal.kind : undefined;
    if (!kind) throw forbidden(`an encoder can publish only into a broadcast or training room, not a ${principal.kind} room`);
    return { by: principal.sub, site: principal.site, room: principal.room, kind, caseId: principal.caseId };
  }
}

const jsonFail = (res: express.Response, error: unknown, log: Logger): void => {
  const protocolError = error instanceof ProtocolError ? error : new ProtocolError('INTERNAL', 'the ingest request failed');
  if (!(error instanceof ProtocolError)) log.error({ err: error }, 'ingest request failed');
  const retryAfter = protocolError.details?.['retryAfterSeconds'];
  if (retryAfter) res.setHeader('Retry-After', retryAfter);
  res.status(protocolError.status).json({ error: protocolError.toWire() });
};

export function ingestRouter(deps: IngestRouterDeps): express.Router {
  const router = express.Router();
  router.use(['/ingest', '/whip'], (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  manageRoutes(router, deps);
  whipRoutes(router, deps);
  return router;
}

function manageRoutes(router: express.Router, { ingests, rooms, verifier, routing, log }: IngestRouterDeps): void {
  router.post('/ingest', express.json({ limit: '8kb' }), async (req, res) => {
    try {
      const who = manager(verifier, bearer(req));
      const parsed = IngestRestRequest.safeParse(req.body);
      if (!parsed.success) throw new ProtocolError('BAD_REQUEST', 'invalid ingest request', issuesToDetails(parsed.error.issues));
      const body = parsed.data;
      if (who.room !== undefined && who.room !== body.room)
        throw forbidden('a moderator may create ingests only for the room of their token');
      const owner = body.protocol === 'rtmp' && !req.headers[FORWARDED_BY] ? await routing.servedElsewhere(body.room) : undefined;
      // An RTMP listener is on the node that creates it, and its programme runs on the room's node.
      if (owner !== undefined) return await forward(owner, 'ingest', req, JSON.stringify(body), res);
      const open = rooms.get(body.room);
      const kind = open?.kind ?? who.kind ?? body.kind;
      if (!kind) throw new ProtocolError('BAD_REQUEST', 'the room is not open on this server: say its kind (broadcast or training)');
      const site = body.site ?? who.site;
      if (!site) throw new ProtocolError('BAD_REQUEST', "say the encoder's site (an admin token has none of its own)");
      const grant = await ingests.create({
        room: { id: body.room, kind, caseId: open?.caseId ?? who.caseId },
        protocol: body.protocol,
        name: body.name,
        site,
        ttlSeconds: body.ttlSeconds,
        createdBy: who.by,
      });
      res.status(201).json(grant);
    } catch (error) {
      jsonFail(res, error, log);
    }
  });

  router.get('/ingest', async (req, res) => {
    try {
      const who = manager(verifier, bearer(req));
      const room = who.room ?? (typeof req.query['room'] === 'string' ? req.query['room'] : undefined);
      const here = async () => void res.json({ ingests: await ingests.list(room) });
      // Health is measured where the programme runs, on the room's node: asked of it.
      const owner = await servingNode(routing, room, req);
      if (owner !== undefined) return await forward(owner, `ingest?room=${encodeURIComponent(room!)}`, req, undefined, res, here);
      await here();
    } catch (error) {
      jsonFail(res, error, log);
    }
  });

  router.get('/ingest/:id', async (req, res) => {
    try {
      const who = manager(verifier, bearer(req));
      const ingest = await ingests.describe(req.params.id);
      if (!ingest || (who.room !== undefined && ingest.room !== who.room)) throw new ProtocolError('NOT_FOUND', 'no such ingest');
      const here = async () => void res.json({ ingest });
      const owner = await servingNode(routing, ingest.room, req);
      if (owner !== undefined) return await forward(owner, `ingest/${encodeURIComponent(ingest.id)}`, req, undefined, res, here);
      await here();
    } catch (error) {
      jsonFail(res, error, log);
    }
  });

  router.delete('/ingest/:id', async (req, res) => {
    try {
      const who = manager(verifier, bearer(req));
      await ingests.revoke(req.params.id, who.room, who.by);
      res.status(204).end();
    } catch (error) {
      jsonFail(res, error, log);
    }
  });
}

/** WHIP errors as plain text with their status: what an encoder puts in its log. */
function whipFail(res: express.Response, error: unknown, log: Logger): void {
  if (error instanceof SdpError) {
    res
      .status(error.tooLarge ? 413 : 400)
      .type('text/plain')
      .send(`${error.message}\n`);
    return;
  }
  if (error instanceof UnacceptableOfferError) {
    res.status(400).type('text/plain').send(`${error.message}\n`);
    return;
  }
  const protocolError = error instanceof ProtocolError ? error : new ProtocolError('INTERNAL', 'the WHIP request failed');
  if (!(error instanceof ProtocolError)) log.error({ err: error }, 'WHIP request failed');
  if (protocolError.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="whip"');
  const retryAfter = protocolError.details?.['retryAfterSeconds'];
  if (retryAfter) res.setHeader('Retry-After', retryAfter); // e.g. the cluster's Redis away for a moment
  res.status(protocolError.status).type('text/plain').send(`${protocolError.message}\n`);
}

/** Marks a request one node passed on to another (never passed on again). */
const FORWARDED_BY = 'x-ingest-forwarded';
/** A room's node creating the session or the listener: well within an encoder's own timeout. */
const FORWARD_TIMEOUT_MS = 10_000;
/** What of the serving node's answer goes back to the encoder or the hospital system. */
const RELAYED_HEADERS = ['content-type', 'location', 'etag', 'accept-patch', 'www-authenticate', 'retry-after'];

/**
 * Passes a request on to the node serving its room (`route`), with its credentials and body, and
 * relays the answer. That node not answering: `orElse` if given (what this node can say itself),
 * else 503 with a retry hint (an encoder tries again).
 */
async function forward(
  route: string,
  path: string,
  req: express.Request,
  body: string | undefined,
  res: express.Response,
  orElse?: () => Promise<void>,
): Promise<void> {
  const headers: Record<string, string> = { [FORWARDED_BY]: '1' };
  for (const name of ['authorization', 'content-type']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  let answer: Response;
  try {
    answer = await fetch(routeUrl(route, path), {
      method: req.method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
  } catch {
    if (orElse) return orElse();
    res
      .status(503)
      .setHeader('Retry-After', '3')
      .type('text/plain')
      .send("the server running this programme's room did not answer; retry in a few seconds\n");
    return;
  }
  for (const name of RELAYED_HEADERS) {
    const value = answer.headers.get(name);
    if (value !== null) res.setHeader(name, value);
  }
  res.status(answer.status).send(Buffer.from(await answer.arrayBuffer()));
}

/**
 * The node serving `room` if it is another one and this request was not passed on already. Undefined
 * too when that cannot be told (Redis away): this node answers with what it knows.
 */
async function servingNode(routing: RoomRouting, room: string | undefined, req: express.Request): Promise<string | undefined> {
  if (room === undefined || req.headers[FORWARDED_BY]) return undefined;
  return routing.servedElsewhere(room).catch(() => undefined);
}

/** How many times a WHIP offer was passed on between nodes (`?hops=`, added by forward); 0 when absent or odd. */
function hopsOf(req: express.Request): number {
  const hops = Number(req.query['hops']);
  return Number.isInteger(hops) && hops >= 0 ? hops : 0;
}

function whipRoutes(router: express.Router, { ingests, routing, ownRoute, log }: IngestRouterDeps): void {
  const sessions = new Map<string, { ingestId: string; session: WhipSession }>();
  const sdpBody = express.text({ type: ['application/sdp', 'application/trickle-ice-sdpfrag'], limit: MAX_SDP_BYTES });
  // Browser-based encoders on other origins: the bearer token, not a cookie, is the credential.
  router.use('/whip', (req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Accept-Patch');
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'POST, PATCH, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    res.setHeader('Accept-Post', 'application/sdp');
    res.status(204).end();
  });
  // The session a request names, if the token proves it may act on it.
  const sessionOf = (req: express.Request<{ id: string; session: string }>) => {
    const ingest = ingests.authenticate(req.params.id, bearer(req));
    const entry = sessions.get(req.params.session);
    if (!entry || entry.ingestId !== ingest.id || entry.session.ended) {
      sessions.delete(req.params.session);
      throw new ProtocolError('NOT_FOUND', 'no such WHIP session (it ended, or another one replaced it)');
    }
    return { ingest, session: entry.session };
  };

  router.post('/whip/:id', sdpBody, async (req, res) => {
    try {
      const admitted = await ingests.admit(req.params.id, bearer(req));
      if (!req.is('application/sdp') || typeof req.body !== 'string') {
        res.status(415).type('text/plain').send('a WHIP offer is sent as Content-Type: application/sdp\n');
        return;
      }
      const hops = hopsOf(req);
      if (hops > MAX_ROUTE_HOPS) throw new ProtocolError('UNAVAILABLE', 'the cluster could not settle where this programme runs; retry');
      const decision = await routing.route(admitted.roomId, hops);
      // Passed on, not redirected: an encoder following a redirect to another host drops its token
      // (curl, browsers). The answer's Location names the serving node, where the session lives.
      if (!decision.here) return await forward(decision.route, `whip/${req.params.id}?hops=${hops + 1}`, req, req.body, res);
      const ingest = admitted.here();
      const { session, answer } = await WhipSession.start(ingest, req.body, log);
      for (const [id, entry] of sessions) if (entry.session.ended) sessions.delete(id);
      sessions.set(session.id, { ingestId: ingest.id, session });
      const route = ownRoute();
      const resource = `whip/${ingest.id}/sessions/${session.id}`;
      res
        .status(201)
        .type('application/sdp')
        // Clustered, the session lives on this node only: its URL names this node, not the entry.
        .setHeader('Location', route ? routeUrl(route, resource).href : `/${resource}`)
        .setHeader('ETag', session.etag)
        .setHeader('Accept-Patch', 'application/trickle-ice-sdpfrag')
        .send(answer);
    } catch (error) {
      whipFail(res, error, log);
    }
  });

  router.patch('/whip/:id/sessions/:session', sdpBody, async (req, res) => {
    try {
      const { session } = sessionOf(req);
      if (!req.is('application/trickle-ice-sdpfrag') || typeof req.body !== 'string') {
        res.status(415).type('text/plain').send('PATCH takes Content-Type: application/trickle-ice-sdpfrag\n');
        return;
      }
      const ifMatch = req.headers['if-match'];
      const restart = /^a=ice-ufrag:/m.test(req.body);
      if (ifMatch && ifMatch !== '*' && ifMatch !== session.etag) {
        res.status(412).type('text/plain').send('the session changed since that ETag\n');
        return;
      }
      if (!restart) {
        res.status(204).end(); // trickled candidates: an ICE-lite server only answers checks
        return;
      }
      const fragment = await session.restartIce();
      res.status(200).type('application/trickle-ice-sdpfrag').setHeader('ETag', session.etag).send(fragment);
    } catch (error) {
      whipFail(res, error, log);
    }
  });

  router.delete('/whip/:id/sessions/:session', (req, res) => {
    try {
      const { ingest } = sessionOf(req);
      sessions.delete(req.params.session);
      ingest.endProgramme('the encoder ended the WHIP session (DELETE)');
      res.status(200).end();
    } catch (error) {
      whipFail(res, error, log);
    }
  });

  // body-parser's own refusals (too large, bad encoding) in WHIP's words.
  router.use('/whip', (error: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    const status = (error as { status?: number }).status;
    if (status === 413) res.status(413).type('text/plain').send(`the SDP is larger than ${MAX_SDP_BYTES} bytes\n`);
    else if (status) res.status(status).type('text/plain').send('the request body could not be read\n');
    else next(error);
  });
}
