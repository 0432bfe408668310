/**
 * The node's own figures, read from their sources at each scrape: media workers and their faults,
 * rooms and participants, the case record (outbox, storage, recordings, audit trail), HLS output,
 * and whether the node serves or drains. The names that existed before prom-client are kept as they
 * were (the Grafana dashboard and operators' alerts use them).
 */
import type { Registry } from 'prom-client';
import { ROOM_KINDS, SITE_LEVELS } from '../../signaling/protocol/index.js';
import type { HlsService } from '../media/HlsService.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { CaseRecordService } from '../records/CaseRecordService.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { flag, ReadCounter, ReadGauge, single, type Series } from './readings.js';

export interface NodeSources {
  pool: WorkerPool;
  rooms: RoomRegistry;
  records: CaseRecordService;
  hls: HlsService;
  /** A draining node takes no new rooms. */
  draining: () => boolean;
}

export function registerNodeMetrics(registry: Registry, s: NodeSources): void {
  registerWorkerFaults(registry, s.pool);
  registerRooms(registry, s.rooms);
  registerCaseRecord(registry, s.records);
  new ReadGauge(registry, { name: 'telemed_hls_streams', help: 'HLS outputs (FFmpeg) running for broadcasts.' }, () =>
    single(s.hls.streams),
  );
  new ReadGauge(
    registry,
    {
      name: 'telemed_node_state',
      help: 'This node’s state: 1 for the one it is in (serving, or draining: no new rooms).',
      labelNames: ['state'],
    },
    () => [
      [{ state: 'serving' }, flag(!s.draining())],
      [{ state: 'draining' }, flag(s.draining())],
    ],
  );
}

function registerWorkerFaults(registry: Registry, pool: WorkerPool): void {
  new ReadGauge(registry, { name: 'telemed_media_workers', help: 'Live mediasoup workers.' }, () => single(pool.size));
  const counters = [
    ['telemed_media_worker_deaths_total', 'Media workers that died on their own (crash, killed from outside).', 'died'],
    ['telemed_media_workers_hung_killed_total', 'Media workers killed because they stopped answering health checks.', 'hungKilled'],
    ['telemed_media_worker_restart_failures_total', 'Failed attempts to restart a media worker.', 'restartFailures'],
  ] as const;
  for (const [name, help, key] of counters) new ReadCounter(registry, { name, help }, () => single(pool.counters[key]));
}

function registerRooms(registry: Registry, rooms: RoomRegistry): void {
  new ReadGauge(registry, { name: 'telemed_rooms', help: 'Open rooms.' }, () => single(rooms.size));
  new ReadGauge(registry, { name: 'telemed_participants', help: 'Participants in open rooms.' }, () =>
    single(rooms.rooms().reduce((n, r) => n + r.size, 0)),
  );
  new ReadGauge(
    registry,
    {
      name: 'telemed_participants_by_site_level',
      help: 'Participants in open rooms, by room kind and the level of their site (tertiary hospital … village clinic).',
      labelNames: ['room_kind', 'site_level'],
    },
    () => {
      const counts = new Map<string, number>(ROOM_KINDS.flatMap((k) => SITE_LEVELS.map((l) => [`${k} ${l}`, 0] as const)));
      for (const room of rooms.rooms())
        for (const p of room.participants())
          counts.set(`${room.kind} ${p.info.site.level}`, (counts.get(`${room.kind} ${p.info.site.level}`) ?? 0) + 1);
      return [...counts].map(([key, n]): Series<'room_kind' | 'site_level'> => {
        const [room_kind, site_level] = key.split(' ');
        return [{ room_kind, site_level }, n];
      });
    },
  );
}

function registerCaseRecord(registry: Registry, records: CaseRecordService): void {
  new ReadGauge(
    registry,
    { name: 'telemed_case_records_pending', help: 'Case-record entries waiting in the outbox for a remote system.' },
    () => single(records.pending),
  );
  new ReadGauge(
    registry,
    {
      name: 'telemed_case_records_oldest_pending_age_seconds',
      help: 'How long the longest-waiting case-record entry has been in the outbox (0 when none waits).',
    },
    () => {
      const since = records.oldestPendingSince();
      return single(since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000));
    },
  );
  new ReadCounter(
    registry,
    {
      name: 'telemed_storage_faults_total',
      help: 'Case-record storage writes that failed (full or failing disk), by what was written.',
      labelNames: ['kind'],
    },
    () => [...records.storage.faults].map(([kind, n]) => [{ kind }, n]),
  );
  new ReadCounter(
    registry,
    { name: 'telemed_audit_write_failures_total', help: 'Audit-trail writes that failed (the room refuses what it cannot record).' },
    () => single(records.storage.faults.get('audit_trail')),
  );
  new ReadGauge(registry, { name: 'telemed_data_disk_free_bytes', help: 'Free space on the data disk (DATA_DIR) for this server.' }, () =>
    single(records.storage.freeBytes()),
  );
  new ReadGauge(registry, { name: 'telemed_recordings_active', help: 'Rooms being recorded now.' }, () => single(records.recordingsActive));
  new ReadCounter(
    registry,
    {
      name: 'telemed_recording_failures_total',
      help: 'Recording failures: could not start, a track could not be recorded, or could not be handed to the case record.',
      labelNames: ['stage'],
    },
    () => [...records.recordingFailures].map(([stage, n]) => [{ stage }, n]),
  );
}
