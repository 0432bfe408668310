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
import type { ClusterStats } from '../cluster/ClusterNode.js';
import type { EdgeFigures } from '../cluster/edges/BroadcastEdges.js';
import { devTokenRouter, type DevTokenOptions } from './devTokens.js';
import { recordingsRouter } from './recordingsRouter.js';
import { adminRouter, type AdminDeps } from './adminRouter.js';
import { embedRouter } from './embed.js';
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
  records: CaseRecordService;
  verifier: TokenVerifier;
  /** A draining node (clustered) takes no new rooms: load balancers should send new clients elsewhere. */
  draining: () => boolean;
  /** Origins whose pages may frame the prebuilt consultation (`/embed`); '*' in development. */
  embedOrigins: string[] | '*';
  /** The operators' API (`/admin`): what it may do to this node. */
  admin: Pick<AdminDeps, 'clustered' | 'drain' | 'log'>;
  /** This node's part in the cluster (undefined on a single node, or before it has joined). */
  cluster: () => ClusterStats | undefined;
  /** Clustered: broadcasts across nodes (undefined on a single node). */
  edges?: () => EdgeFigures | undefined;
  /** Programme pages of broadcasts (`/watch/<room>`, `/api/programmes`); the public folder is DEMO_DIR. */
  programmes?: Omit<ProgrammeRouterDeps, 'publicDir' | 'verifier'>;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
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
  app.get('/metrics', (_req, res) => {
    const rooms = deps.rooms.rooms();
    const participants = rooms.reduce((n, r) => n + r.size, 0);
    const workers = deps.pool.counters;
    res
      .type('text/plain; version=0.0.4')
      .send(
        [
          ...metric('telemed_media_workers', 'gauge', 'Live mediasoup workers.', deps.pool.size),
          ...metric(
            'telemed_media_worker_deaths_total',
            'counter',
            'Media workers that died on their own (crash, killed from outside).',
            workers.died,
          ),
          ...metric(
            'telemed_media_workers_hung_killed_total',
            'counter',
            'Media workers killed because they stopped answering health checks.',
            workers.hungKilled,
          ),
          ...metric(
            'telemed_media_worker_restart_failures_total',
            'counter',
            'Failed attempts to restart a media worker.',
            workers.restartFailures,
          ),
          ...metric('telemed_rooms', 'gauge', 'Open rooms.', rooms.length),
          ...metric('telemed_participants', 'gauge', 'Participants in open rooms.', participants),
          ...metric(
            'telemed_case_records_pending',
            'gauge',
            'Case-record entries waiting in the outbox for a remote system.',
            deps.records.pending,
          ),
          '# HELP telemed_storage_faults_total Case-record storage writes that failed (full or failing disk), by what was written.',
          '# TYPE telemed_storage_faults_total counter',
          ...[...deps.records.storage.faults].map(([kind, n]) => `telemed_storage_faults_total{kind="${kind}"} ${n}`),
          ...dataDiskFree(deps.records.storage.freeBytes()),
          ...clusterMetrics(deps.cluster()),
          ...edgeMetrics(deps.edges?.()),
          '',
        ].join('\n'),
      );
  });

  if (deps.devTokens) app.use(devTokenRouter(deps.devTokens));
  app.use(recordingsRouter(deps.records.archive.root, deps.verifier));
  app.use(
    adminRouter({ ...deps.admin, verifier: deps.verifier, draining: deps.draining, rooms: () => deps.rooms.size, registry: deps.rooms }),
  );
  // Before the HLS folder: it counts the programme page's HLS players on their way to it.
  if (deps.programmes) app.use(programmeRouter({ ...deps.programmes, verifier: deps.verifier, publicDir: DEMO_DIR }));
  app.use(HLS_URL_PREFIX, express.static(deps.hlsDir, { index: false, dotfiles: 'deny', maxAge: 0 }));
  app.use('/sdk', express.static(SDK_DIST_DIR, { fallthrough: true, maxAge: '5m' }));
  app.use(embedRouter(DEMO_DIR, deps.embedOrigins));
  app.use('/', express.static(DEMO_DIR, { index: 'index.html', maxAge: 0 }));
  return app;
}

function dataDiskFree(bytes: number | undefined): string[] {
  if (bytes === undefined) return [];
  return [...metric('telemed_data_disk_free_bytes', 'gauge', 'Free space on the data disk (DATA_DIR) for this server.', bytes)];
}

/** One metric in Prometheus' text format: its help, its type and its value. */
function metric(name: string, type: 'gauge' | 'counter', help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
}

/** The cluster's figures, shown only when this node is part of one. */
function clusterMetrics(stats: ClusterStats | undefined): string[] {
  if (!stats) return [];
  const flag = (on: boolean) => (on ? 1 : 0);
  return [
    ...metric(
      'telemed_cluster_redis_up',
      'gauge',
      'Whether Redis answered this node (1) or is out of reach (0); running rooms do not need it.',
      flag(stats.redisUp),
    ),
    ...metric('telemed_cluster_node_draining', 'gauge', 'Whether this node is draining (takes no new rooms).', flag(stats.draining)),
    ...metric('telemed_cluster_rooms_held', 'gauge', 'Room leases this node holds.', stats.roomsHeld),
    ...metric(
      'telemed_cluster_lease_reasserts_total',
      'counter',
      'Lapsed leases of rooms served here claimed again (after Redis was out of reach).',
      stats.leaseReasserts,
    ),
    ...metric(
      'telemed_cluster_redirects_total',
      'counter',
      'Connections sent to the node that serves their room (MOVED).',
      stats.redirects,
    ),
    ...metric('telemed_cluster_takeovers_total', 'counter', 'Rooms taken over from an owner that was gone.', stats.takeovers),
  ];
}

/** Broadcasts across nodes: seats, links and pipes as an origin, relayed viewers as an edge. */
function edgeMetrics(figures: EdgeFigures | undefined): string[] {
  if (!figures) return [];
  return [
    ...metric(
      'telemed_broadcast_viewer_seats',
      'gauge',
      'Broadcast viewers this node hosts before new ones go to edge nodes.',
      figures.seats,
    ),
    ...metric(
      'telemed_broadcast_viewer_seats_taken',
      'gauge',
      'Broadcast viewers connected to this node (its rooms and those it relays).',
      figures.seatsTaken,
    ),
    ...metric('telemed_edge_links', 'gauge', 'Links from edge nodes to this node’s broadcasts (one per room and edge).', figures.links),
    ...metric('telemed_edge_piped_producers', 'gauge', 'Producers of this node’s broadcasts piped to edge nodes.', figures.piped),
    ...metric(
      'telemed_edge_relayed_viewers',
      'gauge',
      'Viewers this node hosts as an edge of other nodes’ broadcasts.',
      figures.relayedViewers,
    ),
  ];
}
