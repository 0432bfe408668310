/**
 * Programmes wired together for the composition root: the store and replay archive exist before HLS
 * (which hands them finished streams), the service once rooms and HLS do.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { ClusterKeys } from '../cluster/keys.js';
import type { RedisTarget } from '../cluster/redis.js';
import { HlsWatchers } from './HlsWatchers.js';
import { ProgrammeService, publicUrlOf, type ProgrammeCluster } from './ProgrammeService.js';
import { FileProgrammeStore, type ProgrammeStore } from './ProgrammeStore.js';
import { RedisProgrammeStore } from './RedisProgrammeStore.js';
import { ReplayArchive } from './ReplayArchive.js';

export interface Programmes {
  readonly replays: ReplayArchive;
  /** What the HTTP routes need, once rooms and HLS exist. */
  serve(rooms: RoomRegistry, hls: HlsService): { programmes: ProgrammeService; watchers: HlsWatchers; replayRoot: string };
  /**
   * Clustered, once this node listens: the programmes this node kept on its disk while it ran alone
   * are copied into Redis (those Redis has not got already), their replays named under this node's
   * route (the folders are on its disk). Resolves with how many were copied.
   */
  adoptFromDisk(): Promise<number>;
  close(): void;
}

/** Clustered: the cluster's Redis (where programmes are kept) and the node's part in it. */
export interface ProgrammesInCluster extends ProgrammeCluster {
  redis: RedisTarget;
  namespace: string;
}

const ADOPT_RETRY_MS = 10_000;

/** See Programmes.adoptFromDisk. */
async function adoptFromDisk(dir: string, store: ProgrammeStore, replays: ReplayArchive, log: Logger): Promise<number> {
  if (!existsSync(dir)) return 0;
  await store.ready;
  let adopted = 0;
  for (const record of new FileProgrammeStore(dir, log).all()) {
    const replay = record.replay && { ...record.replay, url: replays.urlOf(record.replay.key) };
    // Live when this node stopped running alone: it has ended (as a restarting node would say).
    const endedAt = record.startedAt && !record.endedAt ? new Date().toISOString() : record.endedAt;
    let copied = false;
    await store.change(record.room, (current) => {
      copied = !current; // the cluster's own version, if any, wins
      return current ? undefined : { ...record, replay, endedAt };
    });
    if (copied) adopted++;
  }
  if (adopted > 0) log.info({ programmes: adopted }, "programmes kept on this node's disk copied into the cluster");
  return adopted;
}

export function startProgrammes(dataDir: string, log: Logger, cluster?: ProgrammesInCluster): Programmes {
  const store: ProgrammeStore = cluster
    ? new RedisProgrammeStore(cluster.redis, new ClusterKeys(cluster.namespace), log)
    : new FileProgrammeStore(path.join(dataDir, 'programmes'), log);
  // Clustered, replay folders are told from orphans only once this node's own programmes are in Redis.
  let adopted = (): void => undefined;
  const named = cluster ? new Promise<void>((resolve) => (adopted = resolve)) : store.ready;
  const replays = new ReplayArchive(path.join(dataDir, 'replays'), store, log, publicUrlOf(cluster), named);
  replays.start();
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const adopt = async (): Promise<number> => {
    if (!cluster) return 0;
    try {
      const copied = await adoptFromDisk(path.join(dataDir, 'programmes'), store, replays, log);
      adopted();
      return copied;
    } catch (error) {
      if (!closed) {
        retry = setTimeout(() => void adopt().catch(() => undefined), ADOPT_RETRY_MS);
        retry.unref();
      }
      throw error;
    }
  };
  const watchers = new HlsWatchers();
  return {
    replays,
    serve: (rooms, hls) => ({
      programmes: new ProgrammeService({ store, replays, rooms, hls, watchers, log, cluster }),
      watchers,
      replayRoot: replays.root,
    }),
    adoptFromDisk: adopt,
    close: () => {
      closed = true;
      clearTimeout(retry);
      replays.close();
      store.close();
    },
  };
}
