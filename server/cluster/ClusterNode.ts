/**
 * This node's part in a cluster: it announces itself (heartbeat), holds the leases of the rooms it
 * serves (extended at every heartbeat, released once the room is gone), and at connect time decides
 * whether a room is served here or elsewhere:
 *  - a room this node holds: here, with no Redis round trip (running rooms do not notice an outage);
 *  - a room another node holds: MOVED to that node's route;
 *  - a room nobody holds: placed by load (power of two choices); placed here (or the client already
 *    followed a redirect) → claim it; lost the race → MOVED to the winner. At most 2 hops.
 * Redis unreachable while a decision needs it: UNAVAILABLE with a retry hint, within the command timeout.
 * The rooms' memory is written through RoomMemoryStore, fenced by the leases held here.
 */
import { MAX_ROUTE_HOPS, ProtocolError, routeUrl } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { ClusterKeys } from './keys.js';
import { NodeRegistry, placeRoom, type NodeInfo } from './NodeRegistry.js';
import { connectRedis, whenReady, type RedisTarget } from './redis.js';
import { RoomLeases, type LeaseHolder } from './RoomLease.js';
import { RoomMemoryStore } from './RoomMemoryStore.js';
import type { RoomRouting, RouteDecision } from './routing.js';
import type { ViewerPlacementDeps } from './edges/placement.js';
import type { DurableRoomMemory, DurableSnapshot, RoomMemory } from '../rooms/RoomMemory.js';

export interface ClusterNodeOptions {
  /** Where Redis is: one URL or Sentinel. */
  redis: RedisTarget;
  namespace: string;
  nodeId: string;
  route: string;
  mediaAddresses: string[];
  version: string;
  /** This node's load now (e.g. participants), read at every heartbeat. */
  load: () => number;
  /** Whether a room is open here now: its lease is kept while it is. */
  hasRoom: (roomId: string) => boolean;
  /** Another node took a room this node still serves (newer epoch): it must end here. */
  onLost: (roomId: string) => void;
  /** Longest token lifetime: how long a room's epoch counter is kept. */
  memoryMs: number;
  /** Broadcasts across nodes: this node's viewer seats, its edges (as an origin) and relays (as an edge). */
  viewers?: ViewerPlacementDeps | undefined;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  /** A claimed room that is not opened within this time is given up. */
  claimGraceMs?: number;
  log: Logger;
}

/** What `/metrics` shows of this node's part in the cluster (read-only figures). */
export interface ClusterStats {
  /** Whether Redis answered this node's last heartbeat (and the connection is up now). */
  redisUp: boolean;
  draining: boolean;
  /** Room leases this node holds. */
  roomsHeld: number;
  /** Leases of rooms served here that had lapsed and were claimed again (Redis was out of reach). */
  leaseReasserts: number;
  /** Connections sent to another node (MOVED answers). */
  redirects: number;
  /** Rooms this node took over from an owner that was gone (lapsed lease, owner not answering). */
  takeovers: number;
}

interface Held {
  holder: LeaseHolder;
  claimedAt: number;
}

/** How long an edge stays named for a room after the origin last sent it a viewer. */
const EDGE_NAMING_MS = 10 * 60_000;

const unavailable = () =>
  new ProtocolError('UNAVAILABLE', 'the cluster directory cannot be reached right now; please retry in a few seconds', {
    retryAfterSeconds: '3',
  });

export class ClusterNode implements RoomRouting, DurableRoomMemory {
  readonly #options: Required<Omit<ClusterNodeOptions, 'log' | 'viewers'>> & Pick<ClusterNodeOptions, 'log' | 'viewers'>;
  readonly #redis;
  readonly #registry: NodeRegistry;
  readonly #leases: RoomLeases;
  readonly #held = new Map<string, Held>();
  readonly #memory: RoomMemoryStore;
  readonly #keys: ClusterKeys;
  #state: NodeInfo['state'] = 'serving';
  #leaseTimer: NodeJS.Timeout | undefined;
  /** Whether Redis answered the last heartbeat (undefined: no heartbeat yet). */
  #lastBeatOk: boolean | undefined;
  readonly #counters = { leaseReasserts: 0, redirects: 0, takeovers: 0 };

  private constructor(options: ClusterNodeOptions) {
    this.#options = { leaseTtlMs: 6000, heartbeatMs: 2000, claimGraceMs: 30_000, ...options };
    const keys = new ClusterKeys(options.namespace);
    this.#keys = keys;
    this.#redis = connectRedis(options.redis, options.log);
    this.#registry = new NodeRegistry(this.#redis, keys, { ttlMs: this.#options.leaseTtlMs, heartbeatMs: this.#options.heartbeatMs });
    this.#leases = new RoomLeases(this.#redis, keys, { ttlMs: this.#options.leaseTtlMs, epochTtlMs: options.memoryMs });
    this.#memory = new RoomMemoryStore({
      redis: this.#redis,
      keys,
      route: options.route,
      memoryMs: options.memoryMs,
      holderOf: (roomId) => this.#held.get(roomId)?.holder,
      failed: (err) => this.#beatFailed(err),
      log: options.log,
    });
  }

  /** Joins the cluster; a Redis that is down now does not stop the node (the heartbeat retries). */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    // Commands are not queued while disconnected: give the first connection a moment.
    await whenReady(node.#redis, 3000).catch((err: unknown) => node.#beatFailed(err));
    await node.#registry
      .start(
        () => node.#info(),
        (err) => node.#beatFailed(err),
        () => (node.#lastBeatOk = true),
      )
      .catch((err: unknown) => node.#beatFailed(err));
    node.#leaseTimer = setInterval(() => void node.#keepLeases().catch((err: unknown) => node.#beatFailed(err)), node.#options.heartbeatMs);
    node.#leaseTimer.unref();
    options.log.info({ node: options.nodeId, route: options.route }, 'cluster node announced');
    return node;
  }

  async route(roomId: string, hops: number): Promise<RouteDecision> {
    const decision = await this.#decide(roomId, hops);
    if (!decision.here) this.#counters.redirects++;
    return decision;
  }

  /**
   * The route of the node that holds `roomId` if another one does: requests about the room that only
   * its node can answer (a programme's live state and viewers) go there. Undefined when this node
   * holds it, when nobody does, or when its holder's registration is gone.
   */
  async servedElsewhere(roomId: string): Promise<string | undefined> {
    if (this.#held.has(roomId)) return undefined;
    const owner = await this.#leases.owner(roomId);
    if (!owner || owner.nodeId === this.#options.nodeId) return undefined;
    return (await this.#registry.nodes()).find((n) => n.id === owner.nodeId)?.route;
  }

  get stats(): ClusterStats {
    return {
      redisUp: this.#lastBeatOk === true && this.#redis.status === 'ready',
      draining: this.draining,
      roomsHeld: this.#held.size,
      ...this.#counters,
    };
  }

  async #decide(roomId: string, hops: number): Promise<RouteDecision> {
    const held = this.#held.get(roomId);
    if (held && this.#state === 'draining' && !this.#options.hasRoom(roomId)) {
      // Its room has closed here (moved by the drain): give it up at once so it opens elsewhere.
      this.#held.delete(roomId);
      await this.#leases.release(roomId, held.holder).catch(() => false);
    } else if (held) return { here: true };
    try {
      const owner = await this.#leases.owner(roomId);
      if (owner) return owner.nodeId === this.#options.nodeId ? this.#keep(roomId, owner) : this.#movedTo(owner.nodeId);
      if (this.#state === 'draining') {
        // A room its memory may still call live here (a lost last write): the next node must take it,
        // not send its people back here.
        if (!this.#options.hasRoom(roomId) && (await this.#memory.notLiveOn(roomId, this.#options.nodeId)))
          this.#options.log.warn({ room: roomId }, 'room memory said live on this draining node, which does not have it: corrected');
        return await this.#elsewhere();
      }
      if (hops === 0) {
        const placed = placeRoom(await this.#registry.serving());
        if (placed && placed.id !== this.#options.nodeId) return { here: false, route: placed.route };
      }
      const last = await this.#lastOwner(roomId);
      if (last?.answers) return { here: false, route: last.route };
      const { claimed, owner: winner } = await this.#leases.claim(roomId, this.#options.nodeId);
      if (claimed && last) {
        this.#counters.takeovers++;
        this.#options.log.warn({ room: roomId, epoch: winner.epoch }, 'took over a room whose owner is gone');
      }
      return claimed ? this.#keep(roomId, winner) : this.#movedTo(winner.nodeId);
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      this.#options.log.warn({ err: error instanceof Error ? error.message : String(error), room: roomId }, 'cluster routing failed');
      throw unavailable();
    }
  }

  /**
   * A broadcast or training viewer. The origin (the room's owner) keeps it while it has a free seat,
   * else sends it to an edge it names in Redis (the edge serves only viewers it was named for, or of
   * a room it relays already). An edge node serves viewers of a room it relays while it has seats.
   */
  async routeViewer(roomId: string, hops: number): Promise<RouteDecision> {
    const viewers = this.#options.viewers;
    if (!viewers) return this.route(roomId, hops);
    const relayedFrom = viewers.relays.originOf(roomId);
    // A draining node takes no new viewers as an edge (the origin names only serving nodes).
    if (relayedFrom && !this.#held.has(roomId) && this.#state === 'serving') {
      const seat = viewers.seats.tryTake();
      if (seat) return { here: true, edgeOf: relayedFrom, seat };
    }
    // Sent here (hops > 0) by the origin, which named this node an edge for the room.
    if (!this.#held.has(roomId) && hops > 0) {
      const edgeOf = await this.#namedEdgeOf(roomId);
      if (edgeOf) return { here: true, edgeOf, seat: viewers.seats.take() };
    }
    const decision = await this.route(roomId, hops);
    if (!decision.here) return decision;
    const seat = viewers.seats.tryTake();
    if (seat) return { here: true, seat };
    if (hops < MAX_ROUTE_HOPS) {
      const edge = await this.#placeOnEdge(roomId, viewers).catch((err: unknown) => {
        this.#options.log.warn(
          { err: err instanceof Error ? err.message : String(err), room: roomId },
          'edge placement failed; viewer kept',
        );
        return undefined;
      });
      if (edge) return { here: false, route: edge.route };
    }
    return { here: true, seat: viewers.seats.take() };
  }

  /** The room's origin if its owner is another node that named this one an edge for it. */
  async #namedEdgeOf(roomId: string): Promise<{ nodeId: string; route: string } | undefined> {
    try {
      const [owner, named] = await Promise.all([
        this.#leases.owner(roomId),
        this.#redis.hexists(this.#keys.roomEdges(roomId), this.#options.nodeId),
      ]);
      if (!owner || owner.nodeId === this.#options.nodeId || named !== 1) return undefined;
      const node = (await this.#registry.nodes()).find((n) => n.id === owner.nodeId);
      return node ? { nodeId: node.id, route: node.route } : undefined;
    } catch (error) {
      this.#options.log.warn({ err: error instanceof Error ? error.message : String(error), room: roomId }, 'cluster routing failed');
      throw unavailable();
    }
  }

  /** Names an edge for one more viewer of a room held here (in Redis, so the edge accepts it). */
  async #placeOnEdge(roomId: string, viewers: ViewerPlacementDeps): Promise<NodeInfo | undefined> {
    const edge = viewers.choice.choose(roomId, await this.#registry.serving(), this.#options.nodeId, viewers);
    if (!edge) return undefined;
    const key = this.#keys.roomEdges(roomId);
    await this.#redis.multi().hset(key, edge.id, String(Date.now())).pexpire(key, EDGE_NAMING_MS).exec();
    return edge;
  }

  get draining(): boolean {
    return this.#state === 'draining';
  }

  /**
   * Stops taking new rooms: announced at once; rooms served here go on (their participants may still
   * join and resume) until they empty or the node closes them at its drain deadline.
   */
  async drain(): Promise<void> {
    if (this.#state === 'draining') return;
    this.#state = 'draining';
    this.#options.log.warn({ node: this.#options.nodeId, rooms: this.#held.size }, 'draining: no new rooms on this node');
    await this.#registry.announce(this.#info()).catch((err: unknown) => this.#beatFailed(err));
  }

  /** A new room while draining: another serving node, or none (UNAVAILABLE). */
  async #elsewhere(): Promise<RouteDecision> {
    const placed = placeRoom(await this.#registry.serving());
    if (!placed)
      throw new ProtocolError('UNAVAILABLE', 'this server is being drained and no other server takes new rooms; please retry shortly');
    return { here: false, route: placed.route };
  }

  restore(roomId: string, memory: RoomMemory): Promise<void> {
    return this.#memory.restore(roomId, memory);
  }

  save(roomId: string, snapshot: DurableSnapshot): void {
    this.#memory.save(roomId, snapshot);
  }

  async close(): Promise<void> {
    await this.#memory.flushAll();
    this.#registry.stop();
    clearInterval(this.#leaseTimer);
    const releases = [...this.#held].map(([roomId, { holder }]) => this.#leases.release(roomId, holder).catch(() => false));
    this.#held.clear();
    await Promise.all(releases);
    await this.#registry.withdraw(this.#options.nodeId).catch(() => undefined);
    this.#redis.disconnect();
  }

  #keep(roomId: string, holder: LeaseHolder): RouteDecision {
    this.#held.set(roomId, { holder, claimedAt: Date.now() });
    return { here: true };
  }

  async #movedTo(nodeId: string): Promise<RouteDecision> {
    const node = (await this.#registry.nodes()).find((n) => n.id === nodeId);
    // An owner whose registration is gone cannot be reached; its lease will expire (takeover is
    // decided elsewhere), so the client is asked to retry rather than sent nowhere.
    if (!node) throw unavailable();
    return { here: false, route: node.route };
  }

  /**
   * A room whose lease lapsed while it was live elsewhere is taken over only if its last owner does
   * not answer a direct probe: an owner that merely lost its Redis link still serves its
   * participants (it is sent the connection) and claims its room again once it reaches Redis. Its
   * route comes from the room's memory: a node cut off from Redis for longer than the TTL has lost
   * its registration too, and must not be mistaken for a dead one. Undefined: not live elsewhere.
   */
  async #lastOwner(roomId: string): Promise<{ route: string; answers: boolean } | undefined> {
    const memory = await this.#memory.read(roomId);
    const last = memory['owner'];
    if (memory['live'] !== '1' || !last || last === this.#options.nodeId) return undefined;
    const route = (await this.#registry.nodes()).find((n) => n.id === last)?.route ?? memory['route'];
    if (!route) return { route: '', answers: false };
    const alive = await answers(route);
    if (alive) this.#options.log.warn({ room: roomId, owner: last }, 'lease lapsed but its owner still answers: no takeover');
    return { route, answers: alive };
  }

  /**
   * Every heartbeat: write memory still unsaved (a closed room's last word goes before its lease),
   * extend the leases of rooms still here, give up the others, then write what a lapsed lease refused.
   */
  async #keepLeases(): Promise<void> {
    await this.#memory.flushAll();
    const now = Date.now();
    for (const [roomId, held] of [...this.#held]) {
      // A connection for the room may have given it up meanwhile (a room closed by the drain, see
      // #decide): a lease released on purpose must not be claimed back here.
      const stillHeld = () => this.#held.get(roomId) === held;
      if (!stillHeld()) continue;
      // A claimed room not open yet is kept a while for its join — not on a draining node, which sends
      // every connection for a room it does not have elsewhere (#decide): one closed by the drain goes now.
      const awaited = this.#state === 'serving' && now - held.claimedAt < this.#options.claimGraceMs;
      const inUse = this.#options.hasRoom(roomId) || awaited;
      const kept = inUse ? await this.#leases.extend(roomId, held.holder) : false;
      if (kept || !stillHeld()) continue;
      if (!inUse) {
        this.#held.delete(roomId);
        await this.#leases.release(roomId, held.holder);
        continue;
      }
      await this.#reassert(roomId, held);
    }
    await this.#memory.flushAll();
  }

  /**
   * The lease of a room still served here lapsed (Redis was unreachable longer than its TTL, or this
   * process stalled). If nobody took the room meanwhile it is claimed again with a new epoch; if
   * another node did, the newer epoch wins and the room ends here (its clients reconnect there).
   */
  async #reassert(roomId: string, held: Held): Promise<void> {
    const again = await this.#leases.claim(roomId, this.#options.nodeId);
    if (this.#held.get(roomId) !== held) {
      // Given up while the claim was on its way (see #keepLeases): what it won goes back at once.
      if (again.claimed) await this.#leases.release(roomId, again.owner);
      return;
    }
    if (again.claimed || again.owner.nodeId === this.#options.nodeId) {
      this.#held.set(roomId, { holder: again.owner, claimedAt: held.claimedAt });
      this.#counters.leaseReasserts++;
      this.#options.log.warn({ room: roomId, epoch: again.owner.epoch }, 'lease of a served room lapsed; claimed again');
      return;
    }
    this.#held.delete(roomId);
    this.#options.log.error(
      { room: roomId, lost: held.holder.epoch, to: again.owner },
      'another node took a room served here; ending it here',
    );
    this.#options.onLost(roomId);
  }

  #info(): NodeInfo {
    const o = this.#options;
    return { id: o.nodeId, route: o.route, mediaAddresses: o.mediaAddresses, version: o.version, load: o.load(), state: this.#state };
  }

  #beatFailed(err: unknown): void {
    // Once per outage (every failed command lands here): a cut link must not flood the log.
    if (this.#lastBeatOk !== false)
      this.#options.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cluster heartbeat failed; retrying');
    this.#lastBeatOk = false;
  }
}

/** A direct probe of a node: does its liveness endpoint (`<route>/healthz`, prefix kept) answer within a second? */
async function answers(route: string): Promise<boolean> {
  try {
    const response = await fetch(routeUrl(route, 'healthz'), { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}
