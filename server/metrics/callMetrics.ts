/**
 * Call quality as the rooms' own quality watch measures it (server/rooms/QualityWatch.ts: one timer
 * per room, every 5 s, the lines others depend on): each sample is one observation of round trip,
 * packet loss and jitter, labelled by room kind and the participant's site level — enough to see
 * that county hospitals' lines are worse this afternoon, and never who or which room. The same
 * samples give each worker's media bitrate in and out.
 */
import { Histogram, type Registry } from 'prom-client';
import type { Participant } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { CallQuality } from '../rooms/callQuality.js';
import { QUALITY_INTERVAL_MS } from '../rooms/QualityWatch.js';
import { ReadGauge, type Series } from './readings.js';

type LineLabel = 'room_kind' | 'site_level';

/** A bitrate sample older than two rounds is of someone no longer watched (left, or off stage). */
const BITRATE_FRESH_MS = 2 * QUALITY_INTERVAL_MS + 1000;

interface BitrateSample {
  room: Room;
  worker: number;
  /** What the participant sends to the server, and receives from it (bps). */
  in: number;
  out: number;
  at: number;
}

export class CallMetrics {
  readonly #rtt: Histogram<LineLabel>;
  readonly #loss: Histogram<LineLabel>;
  readonly #jitter: Histogram<LineLabel>;
  readonly #bitrates = new Map<Participant, BitrateSample>();

  constructor(registry: Registry) {
    const line = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, labelNames: ['room_kind', 'site_level'], buckets, registers: [registry] });
    this.#rtt = line(
      'telemed_call_rtt_seconds',
      'Round-trip time of participants’ media (worst of their streams, from RTCP), sampled every 5 s.',
      [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1, 2],
    );
    this.#loss = line(
      'telemed_call_packet_loss_ratio',
      'Packet loss of participants’ media (worst of their streams, 0–1, last RTCP interval), sampled every 5 s.',
      [0, 0.005, 0.01, 0.02, 0.05, 0.08, 0.15, 0.3, 0.5, 1],
    );
    this.#jitter = line(
      'telemed_call_jitter_seconds',
      'Interarrival jitter of participants’ media (worst of their streams), sampled every 5 s.',
      [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
    );
    new ReadGauge(
      registry,
      {
        name: 'telemed_media_worker_bitrate_bps',
        help: 'Media bitrate through a worker (in: sent by participants, out: sent to them), over the lines the rooms watch.',
        labelNames: ['worker', 'direction'],
      },
      () => this.#workerBitrates(),
    );
  }

  /** Follows a room's quality samples until it closes. */
  watch(room: Room): void {
    const onSample = (participant: Participant, line: CallQuality) => {
      try {
        this.#observe(room, participant, line);
      } catch {
        // A figure lost: never let metrics stop the room's quality watch from grading the next line.
      }
    };
    room.on('lineSampled', onSample);
    room.once('closed', () => {
      room.off('lineSampled', onSample);
      for (const [p, sample] of this.#bitrates) if (sample.room === room) this.#bitrates.delete(p);
    });
  }

  #observe(room: Room, participant: Participant, line: CallQuality): void {
    const labels = { room_kind: room.kind, site_level: participant.info.site.level };
    if (line.rttMs !== null) this.#rtt.observe(labels, line.rttMs / 1000);
    if (line.lossPercent !== null) this.#loss.observe(labels, line.lossPercent / 100);
    if (line.jitterMs !== null) this.#jitter.observe(labels, line.jitterMs / 1000);
    this.#bitrates.set(participant, { room, worker: room.workerIndex, in: line.sendBitrate, out: line.recvBitrate, at: Date.now() });
  }

  #workerBitrates(): Series<'worker' | 'direction'>[] {
    const now = Date.now();
    const sums = new Map<number, { in: number; out: number }>();
    for (const [participant, sample] of this.#bitrates) {
      if (now - sample.at > BITRATE_FRESH_MS || participant.closed) {
        this.#bitrates.delete(participant);
        continue;
      }
      const sum = sums.get(sample.worker) ?? { in: 0, out: 0 };
      sum.in += sample.in;
      sum.out += sample.out;
      sums.set(sample.worker, sum);
    }
    return [...sums].flatMap(([worker, sum]): Series<'worker' | 'direction'>[] => [
      [{ worker: String(worker), direction: 'in' }, sum.in],
      [{ worker: String(worker), direction: 'out' }, sum.out],
    ]);
  }
}
