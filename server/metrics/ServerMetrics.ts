/**
 * `/metrics` of one MediaServer, with prom-client: a registry of its own (not prom-client's global
 * one, so several servers in one process — the tests — never share or collide), the process's
 * default metrics, the node's figures read at scrape time, each worker's load, call quality from the
 * rooms' quality samples, and signaling requests as answered. Clustered nodes add their cluster and
 * edge figures. Labels are bounded sets (worker index, room kind, site level, request name, error
 * code…): never a room, a case or a person.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/ClusterNode.js';
import type { EdgeFigures } from '../cluster/edges/BroadcastEdges.js';
import type { IngestService } from '../ingest/IngestService.js';
import type { Room } from '../rooms/Room.js';
import { CallMetrics } from './callMetrics.js';
import { registerIngestMetrics } from './ingestMetrics.js';
import { ReadGauge, single } from './readings.js';
import { registerClusterMetrics, registerEdgeMetrics } from './clusterMetrics.js';
import { registerNodeMetrics, type NodeSources } from './nodeMetrics.js';
import { RequestMetrics } from './requestMetrics.js';
import { registerWorkerMetrics } from './workerMetrics.js';

/** How often the event loop's delay is sampled for nodejs_eventloop_lag_* (ms). */
const EVENT_LOOP_SAMPLE_MS = 1000;

export class ServerMetrics {
  readonly registry = new Registry();
  /** Handed to signaling: each answered request is counted here. */
  readonly requests: RequestMetrics;
  readonly #calls: CallMetrics;

  constructor(sources: NodeSources) {
    // The event-loop delay histogram samples with a libuv timer; prom-client's 10 ms default woke an
    // idle server 100 times a second, most of its steady-state CPU (bench:steady: Node 0.7 % of a
    // core, 0.2 % with this). A stall still delays the next tick and is recorded whole; what a
    // slower tick misses is only a short stall that falls between two ticks.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    registerNodeMetrics(this.registry, sources);
    registerWorkerMetrics(this.registry, sources.pool);
    this.requests = new RequestMetrics(this.registry);
    this.#calls = new CallMetrics(this.registry);
  }

  /** A room opened here: its quality samples become observations. */
  watchRoom(room: Room): void {
    this.#calls.watch(room);
  }

  /** This node is part of a cluster: its figures, once it has joined. */
  addCluster(stats: () => ClusterStats | undefined): void {
    registerClusterMetrics(this.registry, stats);
  }

  /** Encoders publish into broadcasts here (WHIP, RTMP). */
  addIngests(ingests: IngestService): void {
    registerIngestMetrics(this.registry, ingests);
  }

  /** Room events for the hospital's own system wait in their outbox. */
  addEventWebhooks(pending: () => number): void {
    new ReadGauge(
      this.registry,
      { name: 'telemed_event_webhooks_pending', help: 'Room events waiting to reach the hospital’s system.' },
      () => single(pending()),
    );
  }

  /** This node spreads broadcasts over edge nodes. */
  addEdges(figures: () => EdgeFigures): void {
    registerEdgeMetrics(this.registry, figures);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
