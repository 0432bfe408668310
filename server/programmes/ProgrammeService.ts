/**
 * Programmes of broadcasts and training sessions: their moderators save the details; the page reads
 * a view of them (state, viewers, where to watch). A programme goes live when its room's presenter
 * first publishes video on this node — HLS output then starts by itself, so patients without a token
 * (or whose network refuses WebRTC) can watch — and ends when the room closes.
 */
import {
  forbidden,
  notFound,
  permissionsFor,
  type AccessClaims,
  type ProgrammeDetails,
  type ProgrammeState,
  type ProgrammeView,
  routeUrl,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { Room } from '../rooms/Room.js';
import type { RoomAuditEvent } from '../rooms/audit.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { HlsWatchers } from './HlsWatchers.js';
import { retainUntil, type ReplayArchive } from './ReplayArchive.js';
import type { ProgrammeRecord, ProgrammeStore } from './ProgrammeStore.js';

export interface ProgrammeServiceDeps {
  store: ProgrammeStore;
  replays: ReplayArchive;
  rooms: RoomRegistry;
  hls: HlsService;
  watchers: HlsWatchers;
  log: Logger;
  /** Clustered: where this node is reached, and which node serves a room now. */
  cluster?: ProgrammeCluster | undefined;
}

export interface ProgrammeCluster {
  /** This node's route (its public URL): the HLS and replay URLs it hands out start with it. */
  route(): string;
  /** The route of the node serving `room` if another one does (it answers for the live programme). */
  servedElsewhere(room: string): Promise<string | undefined>;
}

/**
 * How a page reached through any node must ask for a path this node serves (HLS, replays): as it is on
 * a single node; clustered, under this node's route, since the files are on its disk.
 */
export function publicUrlOf(cluster: ProgrammeCluster | undefined): (servedPath: string) => string {
  return cluster ? (servedPath) => routeUrl(cluster.route(), servedPath).toString() : (servedPath) => servedPath;
}

const PROGRAMME_KINDS: ReadonlySet<string> = new Set(['broadcast', 'training']);

/** The HLS folder name in a playlist URL (`/hls/<key>/index.m3u8`), which the watcher counts go by. */
export const streamKeyOf = (url: string): string => url.split('/').at(-2) ?? '';

/** How long a node trusts its answer to "which node serves this programme's room?" */
const LOOKUP_TTL_MS = 2000;

export class ProgrammeService {
  readonly #deps: ProgrammeServiceDeps;
  readonly #lookups = new Map<string, { route: string | undefined; until: number }>();
  readonly #publicUrl: (servedPath: string) => string;

  constructor(deps: ProgrammeServiceDeps) {
    this.#deps = deps;
    this.#publicUrl = publicUrlOf(deps.cluster);
    void deps.store.ready.then(() => this.#endOrphans());
    deps.rooms.onOpened((room) => this.#watch(room));
    // Made or edited through another node for a room live here: streamed from now on (as in save()).
    deps.store.onChanged((record) => {
      const open = deps.rooms.get(record.room);
      if (open && presenterVideo(open)) this.#goLive(open);
    });
  }

  /**
   * A node that stopped while a programme was live did not see it end: it has ended now — unless
   * (clustered) another node serves its room, where it may well go on.
   */
  async #endOrphans(): Promise<void> {
    for (const record of this.#deps.store.all()) {
      if (!record.startedAt || record.endedAt) continue;
      const elsewhere = await this.#deps.cluster?.servedElsewhere(record.room).catch(() => 'unknown');
      if (!elsewhere) await this.#markEnded(record.room);
    }
  }

  /**
   * The route of the node that answers for `room`'s programme, if not this one (clustered). Looked up
   * at most every LOOKUP_TTL_MS per programme: every patient's page polls every few seconds.
   */
  async servedElsewhere(room: string, now = Date.now()): Promise<string | undefined> {
    const cluster = this.#deps.cluster;
    // No programme, nothing to ask (and nothing kept for a room name made up by a client).
    if (!cluster || this.#deps.rooms.get(room) || !this.#deps.store.get(room)) return undefined;
    const known = this.#lookups.get(room);
    if (known && known.until > now) return known.route;
    // Redis unreachable: this node answers with what it knows rather than not at all.
    const route = await cluster.servedElsewhere(room).catch(() => undefined);
    this.#lookups.set(room, { route, until: now + LOOKUP_TTL_MS });
    return route;
  }

  /** Creates or replaces the details of `claims.room`'s programme; only its moderators may. */
  async save(claims: AccessClaims, room: string, details: ProgrammeDetails): Promise<ProgrammeView> {
    if (claims.room !== room) throw forbidden('this token is for another room');
    if (!PROGRAMME_KINDS.has(claims.kind)) throw forbidden('programmes are for broadcasts and training sessions');
    if (!permissionsFor(claims.kind, claims.role).has('moderate')) throw forbidden("only the room's moderators edit its programme");
    const now = new Date().toISOString();
    let created = false;
    // Made on the programme as it is when written: its state (live, ended, the replay) is the serving node's.
    const record = await this.#deps.store.change(room, (previous) => {
      created = !previous;
      const next: ProgrammeRecord = previous
        ? { ...previous, details, updatedAt: now, updatedBy: claims.sub }
        : {
            room,
            kind: claims.kind,
            details,
            createdAt: now,
            updatedAt: now,
            updatedBy: claims.sub,
            startedAt: null,
            endedAt: null,
            replay: null,
          };
      if (next.replay) next.replay = { ...next.replay, retainUntil: retainUntil(next.endedAt ?? now, details.replay.retentionDays) };
      return next;
    });
    // Replay withdrawn, or its retention shortened into the past: deleted now, not at the next purge.
    if (record?.replay && !details.replay.allowed) await this.#deps.replays.discard(record);
    else await this.#deps.replays.purge();
    this.#deps.log.info({ room, created }, 'programme saved');
    // A room already live when its programme is made: streamed from now on.
    const open = this.#deps.rooms.get(room);
    if (open && presenterVideo(open)) this.#goLive(open);
    return this.view(room, claims);
  }

  /** The page's view; `claims`: a valid access token for this room in the link, if any. */
  view(room: string, claims?: AccessClaims): ProgrammeView {
    const record = this.#deps.store.get(room);
    if (!record) throw notFound('no programme for this room');
    const mine = claims?.room === room && claims.kind === record.kind;
    const mayWatch = record.details.visibility === 'public' || mine;
    const open = this.#deps.rooms.get(room);
    const hlsPath = open ? this.#deps.hls.urlOf(open) : null;
    const hlsUrl = hlsPath && this.#publicUrl(hlsPath);
    const state = stateOf(record, open);
    return {
      room,
      kind: record.kind,
      details: record.details,
      state,
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      viewers: (open?.audience.viewerCount ?? 0) + (hlsPath ? this.#deps.watchers.count(streamKeyOf(hlsPath)) : 0),
      mayWatch,
      mayEdit: mine && !!claims && permissionsFor(claims.kind, claims.role).has('moderate'),
      hlsUrl: mayWatch && state === 'live' ? hlsUrl : null,
      replay: mayWatch && state === 'ended' && record.replay ? { url: record.replay.url, retainUntil: record.replay.retainUntil } : null,
      questions: (open?.audience.questions.list(false) ?? []).map((q) => ({ id: q.id, text: q.text, status: q.status })),
    };
  }

  #watch(room: Room): void {
    if (!PROGRAMME_KINDS.has(room.kind)) return;
    const onAudit = (event: RoomAuditEvent): void => {
      const source = event.data?.['source'];
      if (event.type !== 'published' || (source !== 'camera' && source !== 'screen')) return;
      // Written to the trail before the producer is added to its owner: look for it once that is done.
      setImmediate(() => {
        if (!room.closed && presenterVideo(room)) this.#goLive(room);
      });
    };
    room.on('audit', onAudit);
    room.once('closed', () => {
      room.off('audit', onAudit);
      void this.#markEnded(room.id);
    });
  }

  #goLive(room: Room): void {
    const record = this.#deps.store.get(room.id);
    if (!record || room.kind !== record.kind) return;
    const at = new Date().toISOString();
    void this.#update(room.id, (r) => (!r.startedAt || r.endedAt ? { startedAt: at, endedAt: null } : undefined));
    this.#deps.hls.start(room).catch((err: unknown) => this.#deps.log.warn({ err, room: room.id }, 'programme HLS output did not start'));
  }

  /** Ended, if it had started and has not ended yet. */
  async #markEnded(room: string): Promise<void> {
    const at = new Date().toISOString();
    await this.#update(room, (r) => (r.startedAt && !r.endedAt ? { endedAt: at } : undefined));
  }

  /** A change of state, decided on the programme as it is when written (undefined: none to make). */
  async #update(
    room: string,
    change: (record: ProgrammeRecord) => Partial<Pick<ProgrammeRecord, 'startedAt' | 'endedAt'>> | undefined,
  ): Promise<void> {
    try {
      await this.#deps.store.change(room, (record) => {
        const fields = record && change(record);
        return fields && { ...record, ...fields };
      });
    } catch (err) {
      this.#deps.log.warn({ err, room }, 'programme state could not be saved');
    }
  }
}

function stateOf(record: ProgrammeRecord, open: Room | undefined): ProgrammeState {
  if (record.startedAt && !record.endedAt && open) return 'live';
  return record.endedAt ? 'ended' : 'scheduled';
}

/** Whether a presenter (by role) publishes a camera or screen: what HLS output is made of. */
function presenterVideo(room: Room): boolean {
  return room.participants().some((p) => p.publishesByRole && (p.producersOf('camera').length > 0 || p.producersOf('screen').length > 0));
}
