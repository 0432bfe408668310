/**
 * Programmes wired together for the composition root: the store and replay archive exist before HLS
 * (which hands them finished streams), the service once rooms and HLS do.
 */
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { HlsWatchers } from './HlsWatchers.js';
import { ClusterKeys } from '../cluster/keys.js';
import type { RedisTarget } from '../cluster/redis.js';
import { ProgrammeService, publicUrlOf, type ProgrammeCluster } from './ProgrammeService.js';
import { FileProgrammeStore, type ProgrammeStore } from './ProgrammeStore.js';
import { RedisProgrammeStore } from './RedisProgrammeStore.js';
import { ReplayArchive } from './ReplayArchive.js';

export interface Programmes {
  readonly replays: ReplayArchive;
  /** What the HTTP routes need, once rooms and HLS exist. */
  serve(rooms: RoomRegistry, hls: HlsService): { programmes: ProgrammeService; watchers: HlsWatchers; replayRoot: string };
  close(): void;
}

/** Clustered: the cluster's Redis (where programmes are kept) and the node's part in it. */
export interface ProgrammesInCluster extends ProgrammeCluster {
  redis: RedisTarget;
  namespace: string;
}

export function startProgrammes(dataDir: string, log: Logger, cluster?: ProgrammesInCluster): Programmes {
  const store: ProgrammeStore = cluster
    ? new RedisProgrammeStore(cluster.redis, new ClusterKeys(cluster.namespace), log)
    : new FileProgrammeStore(path.join(dataDir, 'programmes'), log);
  const replays = new ReplayArchive(path.join(dataDir, 'replays'), store, log, publicUrlOf(cluster));
  replays.start();
  const watchers = new HlsWatchers();
  return {
    replays,
    serve: (rooms, hls) => ({
      programmes: new ProgrammeService({ store, replays, rooms, hls, watchers, log, cluster }),
      watchers,
      replayRoot: replays.root,
    }),
    close: () => {
      replays.close();
      store.close();
    },
  };
}
