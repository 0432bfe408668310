/**
 * Encoder ingests wired together for the composition root: on one node everything is in its memory;
 * clustered, ingests are kept in Redis, an encoder's URL names the host every node answers, and a
 * programme enters its room only on the node serving it.
 */
import { ProtocolError, routePrefix } from '../../signaling/protocol/index.js';
import { DEFAULT_FFMPEG } from '../../recordings/ffmpeg.js';
import { ClusterKeys } from '../cluster/keys.js';
import type { RedisTarget } from '../cluster/redis.js';
import type { RoomRouting } from '../cluster/routing.js';
import type { IngestConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { NO_DIRECTORY } from './IngestDirectory.js';
import { IngestService } from './IngestService.js';
import { RedisIngestDirectory } from './RedisIngestDirectory.js';

export interface IngestWiring {
  rooms: RoomRegistry;
  routing: RoomRouting;
  config: IngestConfig;
  /** PUBLIC_URL, if set: where encoders are sent. */
  publicUrl: string | undefined;
  /** Where this node listens (known once it does). */
  listenUrl: () => string | undefined;
  /** Clustered: the cluster's Redis and this node's route (CLUSTER_ROUTE, else its listen URL). */
  cluster: { redis: RedisTarget; namespace: string; route: string | undefined } | undefined;
  log: Logger;
}

/**
 * Where encoders are sent when PUBLIC_URL is not set: a route with a path (`https://host/n1`, nodes
 * behind one public host) → the host itself, which any node answers, so an encoder's URL outlives the
 * node it was created on; a route of its own → that node.
 */
function entryOf(route: string): string {
  return routePrefix(route) === '' ? route : new URL(route).origin;
}

/** An encoder's programme enters its room on this node only if the room is served here (clustered: its lease is held). */
async function claimHere(routing: RoomRouting, roomId: string): Promise<void> {
  // As a client already redirected once: claimed here if nobody serves it, not placed elsewhere.
  const decision = await routing.route(roomId, 1);
  if (!decision.here)
    throw new ProtocolError(
      'UNAVAILABLE',
      `the room ${roomId} is served by another server (${decision.route}); the programme cannot start here`,
    );
}

/** The ingest service, and this node's own route for WHIP session URLs (clustered; undefined alone). */
export function startIngests(w: IngestWiring): { ingests: IngestService; ownRoute: () => string | undefined } {
  const { cluster, routing } = w;
  const ownRoute = () => (cluster ? (cluster.route ?? w.listenUrl()) : undefined);
  const ingests = new IngestService({
    rooms: w.rooms,
    directory: cluster ? new RedisIngestDirectory(cluster.redis, new ClusterKeys(cluster.namespace), w.log) : NO_DIRECTORY,
    claim: (roomId) => claimHere(routing, roomId),
    servedElsewhere: (roomId) => routing.servedElsewhere(roomId),
    options: { ...w.config, rtmp: { ...w.config.rtmp, ffmpegPath: DEFAULT_FFMPEG.ffmpeg } },
    publicUrl: () => {
      const route = ownRoute();
      return w.publicUrl ?? (route ? entryOf(route) : undefined) ?? w.listenUrl() ?? '';
    },
    log: w.log,
  });
  return { ingests, ownRoute };
}
