/**
 * Programmes wired together for the composition root: the store and replay archive exist before HLS
 * (which hands them finished streams), the service once rooms and HLS do.
 */
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { HlsWatchers } from './HlsWatchers.js';
import { ProgrammeService } from './ProgrammeService.js';
import { ProgrammeStore } from './ProgrammeStore.js';
import { ReplayArchive } from './ReplayArchive.js';

export interface Programmes {
  readonly replays: ReplayArchive;
  /** What the HTTP routes need, once rooms and HLS exist. */
  serve(rooms: RoomRegistry, hls: HlsService): { programmes: ProgrammeService; watchers: HlsWatchers; replayRoot: string };
  close(): void;
}

export function startProgrammes(dataDir: string, log: Logger): Programmes {
  const store = new ProgrammeStore(path.join(dataDir, 'programmes'), log);
  const replays = new ReplayArchive(path.join(dataDir, 'replays'), store, log);
  replays.start();
  const watchers = new HlsWatchers();
  return {
    replays,
    serve: (rooms, hls) => ({
      programmes: new ProgrammeService({ store, replays, rooms, hls, watchers, log }),
      watchers,
      replayRoot: replays.root,
    }),
    close: () => replays.close(),
  };
}
