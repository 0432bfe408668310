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
import { Ingest } from './Ingest.js';
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

export class IngestService {
  readonly #ingests = new Map<string, Ingest>();
  readonly #meters = new WeakMap<Ingest, HealthMeter>();
  readonly #deps: IngestServiceDeps;
  readonly #timer: NodeJS.Timeout;
  #measuring = false;

  constructor(deps: IngestServiceDeps) {
    this.#deps = deps;
    this.#timer = setInterval(() => void this.#measureAll(), deps.options.healthIntervalMs);
    this.#timer.unref();
  }

  async create(spec: IngestRequestSpec): Promise<IngestGrant> {
    const { options, rooms, log } = this.#deps;
    if (this.forRoom(spec.room.id).length >= options.perRoom)
      throw new ProtocolError('TOO_MANY_REQUESTS', `a room may have at most ${options.perRoom} ingests; revoke one first`);
    const ttlSeconds = Math.min(spec.ttlSeconds ?? options.defaultTtlSeconds, options.maxTtlSeconds);
    const base = this.#deps.publicUrl().replace(/\/$/, '');
    const deps = { rooms, graceMs: options.graceSeconds * 1000, log };
    const { ingest, token } = Ingest.create({ ...spec, ttlSeconds, url: '' }, deps);
    let publishUrl = `${base}/whip/${ingest.id}`;
    ingest.spec.url = publishUrl;
    if (spec.protocol === 'rtmp') {
      const relay = await RtmpRelay.start(ingest, token, options.rtmp, log).catch((error: unknown) => {
        ingest.close('its RTMP listener could not be started');
        throw error;
      });
      ingest.spec.url = relay.url;
      publishUrl = `${relay.url}/${token}`;
    }
    this.#ingests.set(ingest.id, ingest);
    ingest.on('changed', () => this.#tell(ingest));
    ingest.once('closed', () => {
      this.#ingests.delete(ingest.id);
      this.#tell(ingest);
    });
    log.info({ ingest: ingest.id, room: spec.room.id, protocol: spec.protocol, by: spec.createdBy, ttlSeconds }, 'ingest created');
    return { ingest: ingest.info(), token, publishUrl };
  }

  get(id: string): Ingest | undefined {
    return this.#ingests.get(id);
  }

  forRoom(roomId: string): Ingest[] {
    return [...this.#ingests.values()].filter((i) => i.spec.room.id === roomId);
  }

  list(): IngestInfo[] {
    return [...this.#ingests.values()].map((i) => i.info());
  }

  /** The ingest `id` if `token` is its secret; one answer for "no such ingest" and "wrong token". */
  authenticate(id: string, token: string | undefined): Ingest {
    const ingest = this.#ingests.get(id);
    if (!token || !ingest || !ingest.accepts(token)) throw unauthenticated('this ingest token is not valid (wrong, revoked or expired)');
    return ingest;
  }

  revoke(id: string, roomId: string | undefined, by: string): void {
    const ingest = this.#ingests.get(id);
    if (!ingest || (roomId !== undefined && ingest.spec.room.id !== roomId)) throw badRequest('no such ingest in this room');
    this.#deps.log.info({ ingest: id, by }, 'ingest revoked');
    ingest.close(`revoked by ${by}`);
  }

  /** Ingests by state (metrics). */
  counts(): Record<IngestState, number> {
    const counts: Record<IngestState, number> = { waiting: 0, live: 0, reconnecting: 0, ended: 0 };
    for (const ingest of this.#ingests.values()) counts[ingest.state]++;
    return counts;
  }

  closeAll(): void {
    clearInterval(this.#timer);
    for (const ingest of [...this.#ingests.values()]) ingest.close('the server is shutting down');
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
