/**
 * Encoders publishing into broadcasts (WHIP, RTMP): how many ingests are in each state, and what the
 * live ones receive — summed by protocol (bitrate) and the worst of them (loss), so the labels stay a
 * handful of values; which ingest it is, the moderators' view and the admin API say.
 */
import type { Registry } from 'prom-client';
import { INGEST_PROTOCOLS, INGEST_STATES } from '../../signaling/protocol/index.js';
import type { IngestService } from '../ingest/IngestService.js';
import { ReadGauge } from './readings.js';

export function registerIngestMetrics(registry: Registry, ingests: IngestService): void {
  new ReadGauge(
    registry,
    { name: 'telemed_ingests', help: 'Encoder ingests (WHIP, RTMP) on this node, by programme state.', labelNames: ['state'] },
    () => {
      const counts = ingests.counts();
      return INGEST_STATES.map((state) => [{ state }, counts[state]]);
    },
  );
  const live = () => ingests.held().filter((i) => i.health);
  new ReadGauge(
    registry,
    {
      name: 'telemed_ingest_bitrate_bps',
      help: 'What live ingests receive from their encoders, summed by protocol (bits per second).',
      labelNames: ['protocol'],
    },
    () =>
      INGEST_PROTOCOLS.map((protocol) => [
        { protocol },
        sum(
          live().filter((i) => i.protocol === protocol),
          (i) => i.health!.bitrateBps,
        ),
      ]),
  );
  new ReadGauge(
    registry,
    {
      name: 'telemed_ingest_loss_percent',
      help: 'The worst latest packet loss among live ingests, by protocol (percent).',
      labelNames: ['protocol'],
    },
    () =>
      INGEST_PROTOCOLS.map((protocol) => [
        { protocol },
        Math.max(
          0,
          ...live()
            .filter((i) => i.protocol === protocol)
            .map((i) => i.health!.lossPercent),
        ),
      ]),
  );
}

function sum<T>(items: T[], value: (item: T) => number): number {
  return items.reduce((n, item) => n + value(item), 0);
}
