/**
 * A clustered node's figures (Redis, leases, redirects, takeovers) and its part in broadcasts across
 * nodes (viewer seats, edge links). Registered only on a node that is part of a cluster; until it
 * has joined, the figures have no value yet and no series is served.
 */
import type { Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/ClusterNode.js';
import type { EdgeFigures } from '../cluster/edges/BroadcastEdges.js';
import { flag, ReadCounter, ReadGauge, single } from './readings.js';

export function registerClusterMetrics(registry: Registry, stats: () => ClusterStats | undefined): void {
  const gauge = (name: string, help: string, read: (s: ClusterStats) => number) =>
    new ReadGauge(registry, { name, help }, () => single(valueOf(stats(), read)));
  const counter = (name: string, help: string, read: (s: ClusterStats) => number) =>
    new ReadCounter(registry, { name, help }, () => single(valueOf(stats(), read)));
  gauge('telemed_cluster_redis_up', 'Whether Redis answered this node (1) or is out of reach (0); running rooms do not need it.', (s) =>
    flag(s.redisUp),
  );
  gauge('telemed_cluster_node_draining', 'Whether this node is draining (takes no new rooms).', (s) => flag(s.draining));
  gauge('telemed_cluster_rooms_held', 'Room leases this node holds.', (s) => s.roomsHeld);
  counter(
    'telemed_cluster_lease_reasserts_total',
    'Lapsed leases of rooms served here claimed again (after Redis was out of reach).',
    (s) => s.leaseReasserts,
  );
  counter('telemed_cluster_redirects_total', 'Connections sent to the node that serves their room (MOVED).', (s) => s.redirects);
  counter('telemed_cluster_takeovers_total', 'Rooms taken over from an owner that was gone.', (s) => s.takeovers);
}

/** Broadcasts across nodes: seats, links and pipes as an origin, relayed viewers as an edge. */
export function registerEdgeMetrics(registry: Registry, figures: () => EdgeFigures): void {
  const gauge = (name: string, help: string, read: (f: EdgeFigures) => number) =>
    new ReadGauge(registry, { name, help }, () => single(read(figures())));
  gauge('telemed_broadcast_viewer_seats', 'Broadcast viewers this node hosts before new ones go to edge nodes.', (f) => f.seats);
  gauge(
    'telemed_broadcast_viewer_seats_taken',
    'Broadcast viewers connected to this node (its rooms and those it relays).',
    (f) => f.seatsTaken,
  );
  gauge('telemed_edge_links', 'Links from edge nodes to this node’s broadcasts (one per room and edge).', (f) => f.links);
  gauge('telemed_edge_piped_producers', 'Producers of this node’s broadcasts piped to edge nodes.', (f) => f.piped);
  gauge('telemed_edge_relayed_viewers', 'Viewers this node hosts as an edge of other nodes’ broadcasts.', (f) => f.relayedViewers);
}

const valueOf = <T>(source: T | undefined, read: (s: T) => number): number | undefined => (source === undefined ? undefined : read(source));
