/**
 * Composition root: wires configuration, the worker pool, rooms, signaling and HTTP together, and
 * tears them down in the reverse order. Tests start it in-process exactly as `npm start` does.
 */
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { version as mediasoupVersion } from 'mediasoup';
import { Server as IoServer } from 'socket.io';
import { TokenVerifier } from './auth/TokenVerifier.js';
import { attachSignaling, type SignalingIo } from './signaling/SignalingServer.js';
import { ClusterNode } from './cluster/ClusterNode.js';
import { BroadcastEdges, type BroadcastEdgesOptions } from './cluster/edges/BroadcastEdges.js';
import { deferredCluster, SINGLE_NODE, type RoomRouting } from './cluster/routing.js';
import type { ClusterConfig, Config } from './config.js';
import { EventWebhooks } from './events/EventWebhooks.js';
import { createApp } from './http/app.js';
import { servePathPrefix } from './http/pathPrefix.js';
import { resolveKeys } from './keys.js';
import type { Logger } from './logger.js';
import { MEDIA_CODECS } from './media/codecs.js';
import { HlsService } from './media/HlsService.js';
import { ServerMetrics } from './metrics/ServerMetrics.js';
import { PreflightLab } from './media/PreflightLab.js';
import { startIngests } from './ingest/index.js';
import type { IngestService } from './ingest/IngestService.js';
import { CaseRecordService } from './records/CaseRecordService.js';
import { WorkerPool } from './media/WorkerPool.js';
import { RoomRegistry } from './rooms/RoomRegistry.js';
import { ConnectionLimits } from './signaling/ConnectionLimits.js';
import { routePrefix } from '../signaling/protocol/index.js';
import { startProgrammes, type Programmes } from './programmes/index.js';

export class MediaServer {
  readonly config: Config;
  readonly pool: WorkerPool;
  readonly rooms: RoomRegistry;
  readonly #hls: HlsService;
  /** Encoders' ingests (set once, right after construction). */
  ingests: IngestService | undefined;
  readonly records: CaseRecordService;
  readonly #http: http.Server;
  readonly #io: SignalingIo;
  readonly #log: Logger;
  #programmes: Programmes | undefined;
  #closing: Promise<void> | undefined;
  #routing: RoomRouting = SINGLE_NODE;
  /** Clustered: broadcasts across nodes (this node as an origin and as an edge). */
  #edges: BroadcastEdges | undefined;
  /** Room events for the hospital's own system (EVENT_WEBHOOK_URL), if configured. */
  #events: EventWebhooks | undefined;
  /** The pre-call check's test transports (set once started). */
  #preflight: PreflightLab | undefined;

  private constructor(
    config: Config,
    pool: WorkerPool,
    rooms: RoomRegistry,
    hls: HlsService,
    records: CaseRecordService,
    httpServer: http.Server,
    io: SignalingIo,
    log: Logger,
  ) {
    this.config = config;
    this.pool = pool;
    this.rooms = rooms;
    this.#hls = hls;
    this.records = records;
    this.#http = httpServer;
    this.#io = io;
    this.#log = log;
  }

  static async start(config: Config, log: Logger): Promise<MediaServer> {
    const keys = resolveKeys(config, log);
    const verifier = new TokenVerifier({
      algorithms: config.jwt.algorithms,
      keys: keys.verifyKeys,
      audience: config.jwt.audience,
      issuer: config.jwt.issuer,
      maxTtlSeconds: config.jwt.maxTtlSeconds,
    });
    const pool = await WorkerPool.create(
      {
        workers: config.media.workers,
        listenIp: config.media.listenIp,
        announcedAddress: config.media.announcedAddress,
        port: config.media.port,
        logLevel: config.media.logLevel,
        health: config.media.health,
      },
      log,
    );
    try {
      // Every router is built from the same codec list, so any router's capabilities describe them all.
      const { router } = await pool.createRouter(MEDIA_CODECS);
      const routerCapabilities = router.rtpCapabilities;
      router.close();

      const records = await CaseRecordService.start(config.records, log.child({ component: 'case-record' }));
      const events = config.events && EventWebhooks.open(config.events, config.cluster?.nodeId ?? null, log.child({ component: 'events' }));
      // The admin API's drain (and the programmes' URLs) act on the server built below, once it exists.
      const built: { server?: MediaServer } = {};
      // Clustered, the node announces its route once it listens; until then connections wait for it.
      const cluster = config.cluster ? deferredCluster() : undefined;
      let clusterNode: ClusterNode | undefined;
      const routing = cluster?.routing ?? SINGLE_NODE;
      // Metrics read the rooms and follow each room opened: `metrics` is made just below, long before any room can open.
      const rooms = new RoomRegistry({
        durable: cluster?.durable,
        pool,
        options: {
          reconnectGraceSeconds: config.reconnectGraceSeconds,
          consumersPerRouter: config.broadcast.consumersPerRouter,
          keyFrameRequestDelayMs: config.broadcast.keyFrameRequestDelayMs,
          emptyLingerSeconds: config.rooms.emptyLingerSeconds,
          chatOnJoin: config.rooms.chatMessagesOnJoin,
          initialOutgoingBitrate: config.media.initialOutgoingBitrate,
          maxIncomingBitrate: config.media.maxIncomingBitrate,
        },
        memorySeconds: config.jwt.maxTtlSeconds,
        joinLimits: { burst: config.rooms.joinBurst, intervalMs: config.rooms.joinIntervalSeconds * 1000 },
        openCaseRecord: (room) => {
          const record = records.open(room);
          events?.watchRoom(room, record); // from the room's first moment: room_started, then everything after
          return record;
        },
        onOpened: (room) => metrics.watchRoom(room),
        log,
      });
      // Clustered, programmes are kept in Redis, and a page's poll is answered by the node serving the room.
      const clustered = config.cluster;
      const programmes = startProgrammes(
        config.dataDir,
        log.child({ component: 'programmes' }),
        clustered && {
          redis: clustered.redis,
          namespace: clustered.namespace,
          route: () => clustered.route ?? built.server?.url ?? '',
          // Waits for this node to have joined the cluster (as connections do).
          servedElsewhere: (room) => routing.servedElsewhere(room),
        },
      );
      const hls = new HlsService(path.join(config.dataDir, 'hls'), log, programmes.replays);
      const programmeRoutes = programmes.serve(rooms, hls);
      events?.watchHls(hls);
      const metrics = new ServerMetrics({ pool, rooms, records, hls, draining: () => routing.draining });
      if (config.cluster) metrics.addCluster(() => clusterNode?.stats);
      // Encoders publishing into broadcasts (WHIP, RTMP); their URLs name the address encoders reach.
      const { ingests, ownRoute } = startIngests({
        rooms,
        routing,
        config: config.ingest,
        publicUrl: config.records.publicUrl,
        listenUrl: () => built.server?.url,
        cluster: clustered && { redis: clustered.redis, namespace: clustered.namespace, route: clustered.route },
        log: log.child({ component: 'ingest' }),
      });
      metrics.addIngests(ingests);
      if (events) metrics.addEventWebhooks(() => events.pending);
      const app = createApp({
        pool,
        rooms,
        hlsDir: hls.root,
        ingest: { ingests, routing, ownRoute },
        records,
        verifier,
        draining: () => routing.draining,
        embedOrigins: config.http.corsOrigins,
        admin: {
          clustered: config.cluster !== undefined,
          drain: async () => built.server?.drain((config.cluster?.drainDeadlineSeconds ?? 0) * 1000),
          log: log.child({ component: 'admin' }),
        },
        metrics,
        programmes: programmeRoutes,
        devTokens: keys.devSigningSecret
          ? {
              secret: keys.devSigningSecret,
              algorithm: config.jwt.algorithms.find((a) => a.startsWith('HS')) ?? 'HS256',
              audience: config.jwt.audience,
              issuer: config.jwt.issuer,
            }
          : undefined,
      });
      const tls = config.http.tls;
      const httpServer = tls ? https.createServer({ cert: tls.cert, key: tls.key }, app) : http.createServer(app);
      const io: SignalingIo = new IoServer(httpServer, {
        cors: { origin: config.http.corsOrigins === '*' ? true : config.http.corsOrigins },
        maxHttpBufferSize: 64 * 1024,
        pingInterval: 10_000,
        pingTimeout: 10_000,
        // A transport that never presents a token (joins no namespace) is closed after this.
        connectTimeout: 5_000,
      });
      const preflight = new PreflightLab({
        pool,
        turn: config.turn,
        limits: config.preflight,
        initialOutgoingBitrate: config.media.initialOutgoingBitrate,
        maxIncomingBitrate: config.media.maxIncomingBitrate,
        log: log.child({ component: 'preflight' }),
      });
      const services = { routerCapabilities, turn: config.turn, hls, preflight, ingests };
      const edges = config.cluster ? broadcastEdges(config, config.cluster, { io, pool, rooms, verifier, services }, log) : undefined;
      if (edges) metrics.addEdges(() => edges.figures());
      attachSignaling(io, {
        verifier,
        rooms,
        routing,
        edges: edges?.relays,
        limits: new ConnectionLimits(config.signaling.connectionLimits),
        services,
        requestTimeoutMs: config.signaling.requestTimeoutMs,
        outcomes: metrics.requests,
        log,
      });
      // A route with a path (one public host for every node): served under it too, Socket.IO included.
      if (config.cluster?.route) servePathPrefix(httpServer, routePrefix(config.cluster.route));
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.http.port, config.http.host, () => resolve());
      });
      const server = new MediaServer(config, pool, rooms, hls, records, httpServer, io, log);
      server.ingests = ingests;
      built.server = server;
      server.#programmes = programmes;
      server.#routing = routing;
      server.#edges = edges;
      server.#events = events;
      server.#preflight = preflight;
      if (cluster && config.cluster) {
        cluster.ready((clusterNode = await joinCluster(config, config.cluster, server, edges, log)));
        programmes
          .adoptFromDisk()
          .catch((err: unknown) => log.warn({ err }, 'programmes on this disk not copied into the cluster yet; retrying every 10 s'));
      }
      log.info(
        {
          url: server.url,
          mode: config.mode,
          workers: pool.size,
          mediaPorts: `${config.media.port}-${config.media.port + pool.size - 1}`,
          node: process.versions.node,
          mediasoup: mediasoupVersion,
          ...(config.http.tls ? { tls: { subject: config.http.tls.subject, validTo: config.http.tls.validTo } } : {}),
        },
        'media server listening',
      );
      return server;
    } catch (error) {
      pool.close();
      throw error;
    }
  }

  /**
   * Drain (clustered): no new rooms here; the rooms here run until they empty or `deadlineMs` passes,
   * then move — their participants are told (`room_moved`) and the SDK rejoins through its entry URL,
   * which sends it to another node. A single node has nowhere to move rooms to: this returns at once.
   */
  async drain(deadlineMs: number): Promise<void> {
    if (!this.config.cluster) return;
    await this.#routing.drain();
    const deadline = Date.now() + deadlineMs;
    while (this.rooms.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    for (const room of this.rooms.rooms()) room.close('room_moved', 'this consultation continues on another server; reconnecting…');
    this.#edges?.relays.closeAll(); // the broadcasts relayed here: their viewers move too
  }

  /** The event webhooks (pending deliveries for metrics and tests), if configured. */
  get events(): EventWebhooks | undefined {
    return this.#events;
  }

  /** Open Engine.IO transports, authenticated or not (for metrics and tests). */
  get transportCount(): number {
    return this.#io.engine.clientsCount;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.config.http.host.includes(':') ? `[${this.config.http.host}]` : this.config.http.host;
    return `${this.config.http.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Rooms and recordings still being finished (shutdown progress). */
  finishing(): { rooms: number; recordings: number } {
    return this.records.finishing();
  }

  /** Pre-call tests open now. */
  get preflightTests(): number {
    return this.#preflight?.openTests ?? 0;
  }

  /** Ends every room (participants are told), stops signaling and HTTP, then the workers. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#hls.closeAll();
      this.#preflight?.closeAll();
      this.ingests?.closeAll();
      this.#programmes?.close();
      // Recordings are finished and handed to the case record before anything else goes away.
      this.rooms.closeAll();
      await this.records.close();
      await this.#events?.close(); // after the records: recordings finished at shutdown are told too
      this.#edges?.close();
      // Leases are given up only once the rooms are gone: another node may take them from here.
      await this.#routing.close();
      await new Promise<void>((resolve) => void this.#io.close(() => resolve()));
      this.#http.closeAllConnections();
      this.pool.close();
      this.#log.info('media server stopped');
    })();
    return this.#closing;
  }
}

/** This node's membership of the cluster: announced with its route, its media address and its load. */
function joinCluster(
  config: Config,
  cluster: ClusterConfig,
  server: MediaServer,
  edges: BroadcastEdges | undefined,
  log: Logger,
): Promise<ClusterNode> {
  return ClusterNode.start({
    redis: cluster.redis,
    namespace: cluster.namespace,
    nodeId: cluster.nodeId,
    route: cluster.route ?? server.url,
    mediaAddresses: [config.media.announcedAddress ?? config.media.listenIp],
    version: mediasoupVersion,
    load: () => server.rooms.rooms().reduce((n, room) => n + room.size, 0) + (edges?.loadAdjustment() ?? 0),
    hasRoom: (roomId) => server.rooms.get(roomId) !== undefined,
    onLost: (roomId) => server.rooms.get(roomId)?.close('room_moved', 'this consultation now continues on another server; reconnecting…'),
    memoryMs: config.jwt.maxTtlSeconds * 1000,
    viewers: edges?.placement,
    log: log.child({ component: 'cluster' }),
  });
}

/**
 * Broadcasts across nodes need link tokens signed with the cluster's shared HMAC key; with public
 * keys only, each node keeps its own rooms' viewers.
 */
function broadcastEdges(
  config: Config,
  cluster: ClusterConfig,
  parts: Pick<BroadcastEdgesOptions, 'io' | 'pool' | 'rooms' | 'verifier' | 'services'>,
  log: Logger,
): BroadcastEdges | undefined {
  const algorithm = config.jwt.algorithms.find((a): a is 'HS256' | 'HS384' | 'HS512' => a.startsWith('HS'));
  if (!algorithm || config.jwt.secrets.length === 0) {
    log.warn('no shared HMAC key (JWT_SECRETS): broadcast viewers are not spread over edge nodes');
    return undefined;
  }
  return new BroadcastEdges({
    ...parts,
    nodeId: cluster.nodeId,
    keys: { secrets: config.jwt.secrets, algorithm, audience: config.jwt.audience, issuer: config.jwt.issuer },
    viewersPerNode: config.broadcast.viewersPerNode,
    consumersPerRouter: config.broadcast.consumersPerRouter,
    initialOutgoingBitrate: config.media.initialOutgoingBitrate,
    maxIncomingBitrate: config.media.maxIncomingBitrate,
    pipeListen: { ip: config.media.listenIp, announcedAddress: config.media.announcedAddress },
    requestTimeoutMs: config.signaling.requestTimeoutMs,
    log,
  });
}
