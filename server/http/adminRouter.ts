/**
 * The operators' HTTP API, under `/admin`: authenticated by an admin token (scope `admin`, the
 * cluster's keys; an access token is refused). It shows the node's state and drains it for
 * maintenance, and lists, inspects, closes rooms and removes participants (adminRooms.ts), shows the
 * media workers (adminWorkers.ts) and the case record's deliveries (adminRecords.ts); each action is
 * logged with who asked, and those on a room are written to its audit trail. `GET /admin` itself is
 * the dashboard page (adminPage.ts), which needs no token to load.
 */
import express from 'express';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { adminPage } from './adminPage.js';
import { adminRecordsRouter, type AdminCaseRecords } from './adminRecords.js';
import { sendAdminError } from './adminReply.js';
import { adminRoomsRouter } from './adminRooms.js';
import { adminWorkersRouter } from './adminWorkers.js';

export interface AdminDeps {
  verifier: TokenVerifier;
  registry: RoomRegistry;
  pool: WorkerPool;
  records: AdminCaseRecords;
  /** The dashboard's HTML file. */
  pageFile: string;
  /** Whether this node is in a cluster (a single node has nowhere to move its rooms). */
  clustered: boolean;
  draining: () => boolean;
  rooms: () => number;
  /** Starts draining; resolves once the node's rooms have emptied or moved. */
  drain: () => Promise<void>;
  log: Logger;
}

const bearer = (req: express.Request): string | undefined => {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
};

export function adminRouter(deps: AdminDeps): express.Router {
  const router = express.Router();
  const fail = sendAdminError;
  const state = () => ({ state: deps.draining() ? 'draining' : 'serving', rooms: deps.rooms(), clustered: deps.clustered });

  router.get('/admin', adminPage(deps.pageFile));
  router.use('/admin', (req, res, next) => {
    try {
      res.locals['admin'] = deps.verifier.verifyAdmin(bearer(req)).sub;
      res.setHeader('Cache-Control', 'no-store');
      next();
    } catch (error) {
      fail(res, error instanceof ProtocolError ? error : new ProtocolError('UNAUTHENTICATED', 'admin token rejected'));
    }
  });

  router.use(adminRoomsRouter(deps.registry, deps.log));
  router.use(adminWorkersRouter(deps.pool));
  router.use(adminRecordsRouter(deps.records, deps.log));

  router.get('/admin/node', (_req, res) => {
    res.json(state());
  });

  /**
   * Drain for maintenance: no new rooms or viewers here; rooms run on until they empty or the drain
   * deadline, then move (their clients reconnect to another node by themselves). Answers at once.
   */
  router.post('/admin/drain', (_req, res) => {
    if (!deps.clustered)
      return fail(
        res,
        new ProtocolError('WRONG_STATE', 'a single node has no other node to move its rooms to; stop it with SIGTERM instead'),
      );
    const by = String(res.locals['admin']);
    deps.log.warn({ admin: by, rooms: deps.rooms() }, 'drain requested through the admin API');
    deps.drain().catch((err: unknown) => deps.log.error({ err, admin: by }, 'drain failed'));
    res.status(202).json({ ...state(), state: 'draining' });
  });

  return router;
}
