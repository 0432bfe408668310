/**
 * The ingests of this node: created for a broadcast or training room (by one of its moderators over
 * signaling, or by the hospital system over REST), found by id and proved by their token, revoked,
 * and watched: every state change and, while live, a health measure every few seconds go to the
 * room's moderators (`ingestUpdated`) and to the metrics.
 */
import {
  badRequest,
  ProtocolError,
  type IngestGrant,
  type IngestInfo,
  type IngestProtocol,
  type IngestState,
  type RoomKind,
  type Site,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { HealthMeter } from './HealthMeter.js';
import { NO_DIRECTORY, type IngestDirectory, type IngestRecord } from './IngestDirectory.js';
import { Ingest, recordAccepts } from './Ingest.js';
import { RtmpRelay, type RtmpOptions } from './RtmpRelay.js';

export interface IngestOptions {
  graceSeconds: number;
  /** Lifetime of a token when the request names none, and the longest one may ask for. */
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  healthIntervalMs: number;
  /** Most ingests one room may have at once (each is a presenter slot and, for RTMP, an FFmpeg). */
  perRoom: number;
  rtmp: RtmpOptions;
}

export interface IngestServiceDeps {
  rooms: RoomRegistry;
  /** The cluster's ingests (clustered), or NO_DIRECTORY on a single node. */
  directory: IngestDirectory;
  /** Holds the room on this node before a programme enters it (see IngestDeps.claim). */
  claim: (roomId: string) => Promise<void>;
  /** The route of the node serving `roomId` if another one does (RoomRouting.servedElsewhere). */
  servedElsewhere: (roomId: string) => Promise<string | undefined>;
  options: IngestOptions;
  /** The server's address as encoders reach it (PUBLIC_URL, or where it listens). */
  publicUrl: () => string;
  log: Logger;
}

export interface IngestRequestSpec {
  room: { id: string; kind: RoomKind; caseId: string | undefined };
  protocol: IngestProtocol;
  name: string;
  site: Site;
  ttlSeconds?: number | undefined;
  createdBy: string;
}

export const unauthenticated = (message: string): ProtocolError => new ProtocolError('UNAUTHENTICATED', message);
const invalidToken = () => unauthenticated('this ingest token is not valid (wrong, revoked or expired)');

export class IngestService {
  readonly #ingests = new Map<string, Ingest>();
  readonly #meters = new WeakMap<Ingest, HealthMeter>();
  readonly #deps: IngestServiceDeps;
  readonly #timer: NodeJS.Timeout;
  #measuring = false;

  constructor(
    deps: Omit<IngestServiceDeps, 'directory' | 'claim' | 'servedElsewhere'> &
      Partial<Pick<IngestServiceDeps, 'directory' | 'claim' | 'servedElsewhere'>>,
  ) {
    // A single node's defaults: nothing kept elsewhere, every room is here.
    this.#deps = { directory: NO_DIRECTORY, claim: () => Promise.resolve(), servedElsewhere: () => Promise.resolve(undefined), ...deps };
    this.#timer = setInterval(() => void this.#measureAll(), deps.options.healthIntervalMs);
    this.#timer.unref();
    // Revoked through another node: its programme, if it runs here, ends now.
    this.#deps.directory.onRemoved((id) => this.#ingests.get(id)?.close('revoked through another server'));
  }

  async create(spec: IngestRequestSpec): Promise<IngestGrant> {
    const { options, log, directory } = this.#deps;
    if ((await this.list(spec.room.id)).length >= options.perRoom)
      throw new ProtocolError('TOO_MANY_REQUESTS', `a room may have at most ${options.perRoom} ingests; revoke one first`);
    const ttlSeconds = Math.min(spec.ttlSeconds ?? options.defaultTtlSeconds, options.maxTtlSeconds);
    const base = this.#deps.publicUrl().replace(/\/$/, '');
    const { ingest, token } = Ingest.create({ ...spec, ttlSeconds, url: '' }, this.#ingestDeps());
    let publishUrl = `${base}/whip/${ingest.id}`;
    ingest.spec.url = publishUrl;
    try {
      if (spec.protocol === 'rtmp') {
        const relay = await RtmpRelay.start(ingest, token, options.rtmp, log).catch((error: unknown) => {
          log.warn({ err: error, ingest: ingest.id }, 'RTMP listener could not be started');
          throw error;
        });
        ingest.spec.url = relay.url;
        publishUrl = `${relay.url}/${token}`;
      }
      // Handed out only once every node can find it (clustered).
      await directory.add(ingest.record());
    } catch (error) {
      ingest.close('it could not be set up');
      throw error;
    }
    this.#register(ingest);
    log.info({ ingest: ingest.id, room: spec.room.id, protocol: spec.protocol, by: spec.createdBy, ttlSeconds }, 'ingest created');
    return { ingest: ingest.info(), token, publishUrl };
  }

  /** The ingest `id` if it is held on this node. */
  get(id: string): Ingest | undefined {
    return this.#ingests.get(id);
  }

  /** The ingests of `roomId` held on this node. */
  forRoom(roomId: string): Ingest[] {
    return [...this.#ingests.values()].filter((i) => i.spec.room.id === roomId);
  }

  /**
   * Every ingest (of one room, or all) as the cluster knows it: held here or elsewhere. Of two views
   * of one ingest (this node's, and what the node running it last wrote), the newer one is shown.
   */
  async list(roomId?: string): Promise<IngestInfo[]> {
    const here = roomId === undefined ? [...this.#ingests.values()] : this.forRoom(roomId);
    return this.#newest(await this.#deps.directory.list(roomId), here);
  }

  /** One ingest as the cluster knows it (see list). */
  async describe(id: string): Promise<IngestInfo | undefined> {
    const [record, local] = [await this.#deps.directory.find(id), this.#ingests.get(id)];
    return (await this.#newest(record ? [record] : [], local ? [local] : []))[0];
  }

  /** Ingests held on this node (metrics: what runs here). */
  held(): IngestInfo[] {
    return [...this.#ingests.values()].map((i) => i.info());
  }

  /** The ingest `id` held here if `token` is its secret; one answer for "no such ingest" and "wrong token". */
  authenticate(id: string, token: string | undefined): Ingest {
    const ingest = this.#ingests.get(id);
    if (!token || !ingest || !ingest.accepts(token)) throw invalidToken();
    return ingest;
  }

  /**
   * The same for an ingest that may have been created on another node (an encoder's first request
   * here): its room, and `here()` to hold it on this node once the room is known to be served here.
   */
  async admit(id: string, token: string | undefined): Promise<{ roomId: string; here(): Ingest }> {
    const local = this.#ingests.get(id);
    if (local) return { roomId: this.authenticate(id, token).spec.room.id, here: () => local };
    const record = token ? await this.#deps.directory.find(id) : undefined;
    if (!token || !record || !recordAccepts(record, token)) throw invalidToken();
    // Made only once it runs here: an offer passed on to another node leaves nothing behind.
    const here = () => {
      const held = this.#ingests.get(id) ?? Ingest.fromRecord(record, this.#ingestDeps()); // another request may have held it meanwhile
      if (!this.#ingests.has(id)) this.#register(held);
      return held;
    };
    return { roomId: record.info.room, here };
  }

  /**
   * Revokes `id` (of `roomId`, for a moderator) wherever it is: deleted from the cluster first (a
   * revocation that cannot reach Redis is refused, never half-done), then its programme ends here or,
   * through Redis, on the node running it.
   */
  async revoke(id: string, roomId: string | undefined, by: string): Promise<void> {
    const ingest = this.#ingests.get(id);
    const room = ingest?.spec.room.id ?? (await this.#deps.directory.find(id))?.info.room;
    if (room === undefined || (roomId !== undefined && room !== roomId)) throw badRequest('no such ingest in this room');
    await this.#deps.directory.remove(id);
    this.#deps.log.info({ ingest: id, by }, 'ingest revoked');
    ingest?.close(`revoked by ${by}`);
  }

  /** Ingests by state (metrics). */
  counts(): Record<IngestState, number> {
    const counts: Record<IngestState, number> = { waiting: 0, live: 0, reconnecting: 0, ended: 0 };
    for (const ingest of this.#ingests.values()) counts[ingest.state]++;
    return counts;
  }

  /** Shutdown: programmes running here end (clustered, the ingests stay usable through other nodes). */
  closeAll(): void {
    clearInterval(this.#timer);
    for (const ingest of [...this.#ingests.values()]) ingest.close('the server is shutting down');
    this.#deps.directory.close();
  }

  /**
   * Of each ingest, the newer of what the cluster keeps and this node's view. A programme another node
   * said was running, in a room no other node serves now, died with that node: shown ended.
   */
  async #newest(records: IngestRecord[], here: Ingest[]): Promise<IngestInfo[]> {
    const byId = new Map<string, { info: IngestInfo; changedAt: number; mine: boolean }>();
    for (const record of records)
      byId.set(record.info.id, { info: { ...record.info, health: null }, changedAt: record.changedAt, mine: false });
    for (const ingest of here) {
      const { changedAt } = ingest.record();
      if (changedAt >= (byId.get(ingest.id)?.changedAt ?? 0)) byId.set(ingest.id, { info: ingest.info(), changedAt, mine: true });
    }
    const served = new Map<string, Promise<boolean>>();
    const servedElsewhere = (room: string): Promise<boolean> => {
      let answer = served.get(room);
      // Unknown (Redis away): what the other node wrote is shown as it is.
      if (!answer)
        served.set(
          room,
          (answer = this.#deps.servedElsewhere(room).then(
            (route) => route !== undefined,
            () => true,
          )),
        );
      return answer;
    };
    return Promise.all(
      [...byId.values()].map(async ({ info, mine }) => {
        const running = info.state === 'live' || info.state === 'reconnecting';
        if (mine || !running || (await servedElsewhere(info.room))) return info;
        return { ...info, state: 'ended' as const, participantId: null };
      }),
    );
  }

  #ingestDeps() {
    const { rooms, options, log, claim } = this.#deps;
    return { rooms, claim, graceMs: options.graceSeconds * 1000, log };
  }

  #register(ingest: Ingest): void {
    this.#ingests.set(ingest.id, ingest);
    ingest.on('changed', () => {
      this.#tell(ingest);
      this.#deps.directory.update(ingest.record());
    });
    ingest.once('closed', () => {
      this.#ingests.delete(ingest.id);
      this.#tell(ingest);
    });
  }

  /** Tells the room's moderators what the ingest is now. */
  #tell(ingest: Ingest): void {
    const room = this.#deps.rooms.get(ingest.spec.room.id);
    if (!room || room.closed) return;
    const payload = { ingest: ingest.info() };
    for (const p of room.participants()) if (p.can('moderate')) p.notify('ingestUpdated', payload);
  }

  async #measureAll(): Promise<void> {
    if (this.#measuring) return; // a slow measure must not pile up behind itself
    this.#measuring = true;
    try {
      for (const ingest of [...this.#ingests.values()]) {
        const presence = ingest.presence;
        if (ingest.state !== 'live' || !presence) continue;
        let meter = this.#meters.get(ingest);
        if (!meter) this.#meters.set(ingest, (meter = new HealthMeter()));
        ingest.health = await meter.measure(presence.participant.media().producers, ingest.videoMode);
        if (ingest.state === 'live') this.#tell(ingest);
      }
    } catch (error) {
      this.#deps.log.warn({ err: error }, 'ingest health could not be measured');
    } finally {
      this.#measuring = false;
    }
  }
}
