/**
 * The HTTP face of the server: liveness/readiness for orchestrators, Prometheus metrics, the SDK
 * bundle and demo page, and (development only) token minting.
 */
import express from 'express';
import { version as mediasoupVersion } from 'mediasoup';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { HLS_URL_PREFIX } from '../media/HlsService.js';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import type { CaseRecordService } from '../records/CaseRecordService.js';
import type { ServerMetrics } from '../metrics/ServerMetrics.js';
import { devTokenRouter, type DevTokenOptions } from './devTokens.js';
import { recordingsRouter } from './recordingsRouter.js';
import { adminRouter, type AdminDeps } from './adminRouter.js';
import { embedRouter } from './embed.js';
import { requestIds } from './requestId.js';
import { ingestRouter, type IngestRouterDeps } from '../ingest/ingestRouter.js';
import { programmeRouter, type ProgrammeRouterDeps } from './programmeRouter.js';

const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  ...(import.meta.url.includes('/dist/') ? ['..'] : []),
);
export const SDK_DIST_DIR = path.join(repoRoot, 'client-sdk', 'dist');
export const DEMO_DIR = path.join(repoRoot, 'server', 'public');

export interface AppDeps {
  pool: WorkerPool;
  rooms: RoomRegistry;
  devTokens: DevTokenOptions | undefined;
  /** Live HLS segments; each stream sits under an unguessable folder name. */
  hlsDir: string;
  /** Encoders publishing into broadcasts: `/ingest` (management) and `/whip` (WHIP). */
  ingest?: Omit<IngestRouterDeps, 'rooms' | 'verifier' | 'log'> | undefined;
  records: CaseRecordService;
  verifier: TokenVerifier;
  /** A draining node (clustered) takes no new rooms: load balancers should send new clients elsewhere. */
  draining: () => boolean;
  /** Origins whose pages may frame the prebuilt consultation (`/embed`); '*' in development. */
  embedOrigins: string[] | '*';
  /** The operators' API (`/admin`): what it may do to this node. */
  admin: Pick<AdminDeps, 'clustered' | 'drain' | 'log'>;
  /** What `/metrics` serves (server/metrics). */
  metrics: ServerMetrics;
  /** Programme pages of broadcasts (`/watch/<room>`, `/api/programmes`); the public folder is DEMO_DIR. */
  programmes?: Omit<ProgrammeRouterDeps, 'publicDir' | 'verifier'>;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIds());
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  // Liveness: the process answers. Nothing else is checked, so an orchestrator never restarts the
  // whole server (every room on every core) for what readiness reports.
  app.get('/healthz', (_req, res) => {
    // The runtime, so an operator (and the tests) can see which Node.js and mediasoup actually run.
    res.json({ status: 'ok', node: process.versions.node, mediasoup: mediasoupVersion });
  });
  // Readiness: can this server take new consultations as configured? Each reason is a sentence an
  // operator can act on (a worker not answering its health check, being restarted, given up, none running;
  // the data disk below its free-space floor, the last case-record write failed, rooms without a writable trail).
  app.get('/readyz', (_req, res) => {
    // Without media workers this node cannot carry a consultation: send traffic elsewhere (503). A
    // storage problem stops recordings (and rooms whose trail fails), not the node: it stays in
    // service, and says what is wrong (200, "degraded").
    const blocking = [...deps.pool.problems(), ...(deps.draining() ? ['draining: this node takes no new rooms'] : [])];
    const reasons = [...blocking, ...deps.records.problems()];
    const status = reasons.length > 0 ? 'degraded' : 'ready';
    res.status(blocking.length > 0 ? 503 : 200).json({ status, reasons, workers: deps.pool.size, rooms: deps.rooms.size });
  });
  app.get('/metrics', (_req, res, next) => {
    deps.metrics.render().then((text) => res.type(deps.metrics.contentType).send(text), next);
  });

  if (deps.devTokens) app.use(devTokenRouter(deps.devTokens));
  if (deps.ingest) app.use(ingestRouter({ ...deps.ingest, rooms: deps.rooms, verifier: deps.verifier, log: deps.admin.log }));
  app.use(recordingsRouter(deps.records.archive.root, deps.verifier));
  app.use(
    adminRouter({
      ...deps.admin,
      verifier: deps.verifier,
      draining: deps.draining,
      rooms: () => deps.rooms.size,
      registry: deps.rooms,
      pool: deps.pool,
      records: deps.records,
      pageFile: path.join(DEMO_DIR, 'admin.html'),
    }),
  );
  // Before the HLS folder: it counts the programme page's HLS players on their way to it.
  if (deps.programmes) app.use(programmeRouter({ ...deps.programmes, verifier: deps.verifier, publicDir: DEMO_DIR }));
  app.use(HLS_URL_PREFIX, express.static(deps.hlsDir, { index: false, dotfiles: 'deny', maxAge: 0 }));
  app.use('/sdk', express.static(SDK_DIST_DIR, { fallthrough: true, maxAge: '5m' }));
  app.use(embedRouter(DEMO_DIR, deps.embedOrigins));
  app.use('/', express.static(DEMO_DIR, { index: 'index.html', maxAge: 0 }));
  return app;
}
