/**
 * What the viewer counts. Per consumer: RTP sequence numbers (loss), bytes and reassembled VP8
 * frames. Per kind: a trailing-window bitrate, and the counters of consumers already closed, so the
 * totals survive renegotiation. Overall: the first RTP packet and key frame, and the PLIs sent.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RtpPacket, RTCRtpTransceiver } from 'werift';
import type { ConsumeResult } from '../../signaling/protocol/index.js';
import { SequenceTracker, Vp8FrameAssembler } from './rtpReceive.js';
import type { KindStats, MediaKind, VideoStats, ViewerEvents } from './viewerTypes.js';

export interface ConsumerState {
  info: ConsumeResult;
  mid: string;
  ssrc: number;
  closed: boolean;
  seq: SequenceTracker;
  assembler: Vp8FrameAssembler | undefined;
  bytes: number;
  transceiver: RTCRtpTransceiver | undefined;
  firstRtpAt: number | undefined;
  lastPliAt: number;
}

interface Counters {
  packets: number;
  bytes: number;
  expected: number;
  lost: number;
  frames: number;
  keyFrames: number;
  decodableFrames: number;
  incompleteFrames: number;
  corruptFrames: number;
  ignoredPackets: number;
}

const zeroCounters = (): Counters => ({
  packets: 0,
  bytes: 0,
  expected: 0,
  lost: 0,
  frames: 0,
  keyFrames: 0,
  decodableFrames: 0,
  incompleteFrames: 0,
  corruptFrames: 0,
  ignoredPackets: 0,
});

/** Adds a consumer's counters to `into`. */
function addCounters(into: Counters, c: ConsumerState): void {
  into.packets += c.seq.received;
  into.bytes += c.bytes;
  into.expected += c.seq.expected;
  into.lost += c.seq.lost;
  if (c.assembler) {
    into.frames += c.assembler.frames;
    into.keyFrames += c.assembler.keyFrames;
    into.decodableFrames += c.assembler.decodableFrames;
    into.incompleteFrames += c.assembler.incompleteFrames;
    into.corruptFrames += c.assembler.corruptFrames;
    into.ignoredPackets += c.assembler.ignoredPackets;
  }
}

/** Bytes per 250 ms bucket, for trailing-window bitrates. */
class BitrateMeter {
  static readonly BUCKET_MS = 250;
  readonly #buckets: { start: number; bytes: number }[] = [];
  #firstAt: number | undefined;

  add(now: number, bytes: number): void {
    this.#firstAt ??= now;
    const start = now - (now % BitrateMeter.BUCKET_MS);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last && last.start === start) last.bytes += bytes;
    else this.#buckets.push({ start, bytes });
    while (this.#buckets.length > 240) this.#buckets.shift(); // 60 s
  }

  bps(now: number, windowMs: number): number {
    if (this.#firstAt === undefined) return 0;
    const from = now - windowMs;
    const span = Math.min(windowMs, now - this.#firstAt);
    if (span <= 0) return 0;
    const bytes = this.#buckets.filter((b) => b.start >= from).reduce((a, b) => a + b.bytes, 0);
    return (8 * bytes * 1000) / span;
  }
}

/** The open consumers and everything counted about what they received. */
export class ReceiveAccounting {
  /** Open consumers (closed ones are dropped once their counters are folded into #retired). */
  readonly consumers = new Map<string, ConsumerState>();
  readonly #bySsrc = new Map<number, ConsumerState>();
  readonly #retired: Record<MediaKind, Counters> = { audio: zeroCounters(), video: zeroCounters() };
  readonly #meters: Record<MediaKind, BitrateMeter> = { audio: new BitrateMeter(), video: new BitrateMeter() };
  readonly #events: Pick<EventEmitter<ViewerEvents>, 'emit'>;
  /** performance.now() of the first RTP packet and of the first complete key frame, of any consumer. */
  firstRtpAt: number | undefined;
  firstKeyFrameAt: number | undefined;
  #lastKeyFrame: { width: number; height: number } | undefined;
  #pliSent = 0;

  /** `events` gets 'firstRtp' and 'keyFrame'. */
  constructor(events: Pick<EventEmitter<ViewerEvents>, 'emit'>) {
    this.#events = events;
  }

  /** Starts counting for a new consumer (its RTP is recognised by SSRC). */
  add(info: ConsumeResult, mid: string, ssrc: number): ConsumerState {
    const state: ConsumerState = {
      info,
      mid,
      ssrc,
      closed: false,
      seq: new SequenceTracker(),
      assembler: info.kind === 'video' ? new Vp8FrameAssembler() : undefined,
      bytes: 0,
      transceiver: undefined,
      firstRtpAt: undefined,
      lastPliAt: 0,
    };
    this.consumers.set(info.id, state);
    this.#bySsrc.set(ssrc, state);
    return state;
  }

  /** Marks a consumer closed and folds its counters into the totals. False if it already was. */
  retire(c: ConsumerState): boolean {
    if (c.closed) return false;
    c.closed = true;
    addCounters(this.#retired[c.info.kind], c);
    // Drop the per-stream state; the m-section goes inactive at the next negotiation.
    c.assembler = undefined;
    c.seq = new SequenceTracker();
    c.bytes = 0;
    this.#bySsrc.delete(c.ssrc);
    this.consumers.delete(c.info.id);
    return true;
  }

  onRtp(packet: RtpPacket): void {
    const consumer = this.#bySsrc.get(packet.header.ssrc);
    if (!consumer || consumer.closed) return;
    const now = performance.now();
    const ext = consumer.seq.push(packet.header.sequenceNumber);
    if (ext === undefined) return; // duplicate
    const bytes = packet.header.serializeSize + packet.payload.length;
    consumer.bytes += bytes;
    const kind = consumer.info.kind;
    this.#meters[kind].add(now, bytes);
    if (consumer.firstRtpAt === undefined) consumer.firstRtpAt = now;
    if (this.firstRtpAt === undefined) {
      this.firstRtpAt = now;
      this.#events.emit('firstRtp', kind);
    }
    if (consumer.assembler) {
      const frame = consumer.assembler.push(ext, packet.header.timestamp, packet.header.marker, packet.payload);
      if (frame?.keyFrame && frame.width !== undefined && frame.height !== undefined) {
        this.#lastKeyFrame = { width: frame.width, height: frame.height };
        if (this.firstKeyFrameAt === undefined) this.firstKeyFrameAt = now;
        this.#events.emit('keyFrame', { consumerId: consumer.info.id, width: frame.width, height: frame.height });
      }
    }
  }

  /** What a decoder does: ask for a key frame while it has none or lost frames since the last one. */
  requestKeyFrames(): void {
    const now = performance.now();
    for (const c of this.consumers.values()) {
      if (c.closed || !c.assembler || !c.transceiver || c.firstRtpAt === undefined) continue;
      if (!c.assembler.needsKeyFrame || now - c.firstRtpAt < 500 || now - c.lastPliAt < 1000) continue;
      c.lastPliAt = now;
      this.#pliSent++;
      c.transceiver.receiver.sendRtcpPLI(c.ssrc).catch(() => undefined);
    }
  }

  /** Totals per kind at `now` (open and closed consumers), bitrates over the trailing `windowMs`. */
  kindStats(now: number, windowMs: number): { audio: KindStats; video: VideoStats } {
    const kind = (k: MediaKind): Counters & { consumers: number } => {
      const out = { ...this.#retired[k], consumers: 0 };
      for (const c of this.consumers.values()) {
        if (c.closed || c.info.kind !== k) continue;
        out.consumers++;
        addCounters(out, c);
      }
      return out;
    };
    const a = kind('audio');
    const v = kind('video');
    return {
      audio: {
        consumers: a.consumers,
        packets: a.packets,
        bytes: a.bytes,
        expected: a.expected,
        lost: a.lost,
        bitrateBps: this.#meters.audio.bps(now, windowMs),
      },
      video: {
        consumers: v.consumers,
        packets: v.packets,
        bytes: v.bytes,
        expected: v.expected,
        lost: v.lost,
        bitrateBps: this.#meters.video.bps(now, windowMs),
        frames: v.frames,
        keyFrames: v.keyFrames,
        decodableFrames: v.decodableFrames,
        incompleteFrames: v.incompleteFrames,
        corruptFrames: v.corruptFrames,
        ignoredPackets: v.ignoredPackets,
        width: this.#lastKeyFrame?.width,
        height: this.#lastKeyFrame?.height,
        pliSent: this.#pliSent,
      },
    };
  }
}
