/**
 * Every Redis key of a cluster, in one place: all under one namespace (several clusters or test runs
 * can share a Redis), and the keys of one room share a hash tag (`{roomId}`) so that a Lua script
 * touching several of them runs on one Redis Cluster slot. Every key but the programmes and the
 * ingests (each entry carries its own expiry) has a TTL.
 */
export class ClusterKeys {
  constructor(readonly namespace: string) {}

  /** Sorted set: node id → expiry time of its registration (ms). */
  get nodes(): string {
    return `${this.namespace}:nodes`;
  }

  /** Hash: one node's registration (routes, addresses, version, load, state). */
  node(nodeId: string): string {
    return `${this.namespace}:node:${nodeId}`;
  }

  /** String "<nodeId>|<epoch>": the room's current owner, with a TTL (the lease). */
  roomOwner(roomId: string): string {
    return `${this.namespace}:room:{${roomId}}:owner`;
  }

  /** Hash: what must outlive the room's owner (bans, ended, mutes, lock, recording), written only by the lease holder. */
  roomMemory(roomId: string): string {
    return `${this.namespace}:room:{${roomId}}:memory`;
  }

  /** Counter: the room's fencing epoch, incremented at every new claim. */
  roomEpoch(roomId: string): string {
    return `${this.namespace}:room:{${roomId}}:epoch`;
  }

  /**
   * Hash: room → its programme (JSON). The one key without a TTL: a programme is kept like a file on
   * a single node's disk, for as long as its page and replay are wanted (Redis persistence applies).
   */
  get programmes(): string {
    return `${this.namespace}:programmes`;
  }

  /** Pub/sub channel: the room whose programme a node just changed (the others reread it). */
  get programmeChanges(): string {
    return `${this.namespace}:programmes:changed`;
  }

  /**
   * Hash: ingest id → the ingest (JSON: what it is, its token's hash, its last state). Entries past
   * their token's expiry are dropped when read; a revoked one is deleted at once.
   */
  get ingests(): string {
    return `${this.namespace}:ingests`;
  }

  /** Pub/sub channel: an ingest just revoked (the node running its programme ends it). */
  get ingestRevocations(): string {
    return `${this.namespace}:ingests:revoked`;
  }

  /** Hash: edge node id → when the origin last placed a viewer there; the edge serves only if named. */
  roomEdges(roomId: string): string {
    return `${this.namespace}:room:{${roomId}}:edges`;
  }
}
