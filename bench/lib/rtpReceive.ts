/**
 * Receive-side RTP bookkeeping for the light viewer: per-stream sequence tracking (loss as RFC 3550
 * counts it: expected − received, duplicates and retransmissions counted once) and VP8 frame
 * reassembly (RFC 7741 payload descriptor; a frame is the packets of one RTP timestamp, from the
 * one starting partition 0 to the one carrying the marker bit, with no sequence gap).
 */

/** Sequence-number bookkeeping of one RTP stream (one SSRC). */
export class SequenceTracker {
  #base = -1;
  #highest = -1;
  #unique = 0;
  /** Per 16-bit sequence slot, a tag of the 16-bit cycle last seen there (0 = never): duplicate detection. */
  readonly #seen = new Uint8Array(65536);

  /** Returns the extended sequence number, or undefined for a duplicate. */
  push(seq: number): number | undefined {
    let ext: number;
    if (this.#highest < 0) {
      ext = 65536 + seq; // one cycle of headroom so early reordered packets stay non-negative
      this.#base = ext;
      this.#highest = ext;
    } else {
      let diff = (seq - (this.#highest & 0xffff)) & 0xffff;
      if (diff >= 0x8000) diff -= 0x10000;
      ext = this.#highest + diff;
      if (ext > this.#highest) this.#highest = ext;
      if (ext < this.#base) this.#base = ext;
    }
    const tag = ((ext >>> 16) & 0x7f) + 1;
    if (this.#seen[ext & 0xffff] === tag) return undefined;
    this.#seen[ext & 0xffff] = tag;
    this.#unique++;
    return ext;
  }

  get expected(): number {
    return this.#highest < 0 ? 0 : this.#highest - this.#base + 1;
  }

  get received(): number {
    return this.#unique;
  }

  get lost(): number {
    return Math.max(0, this.expected - this.#unique);
  }
}

export interface Vp8Descriptor {
  /** S bit set and partition index 0: the first packet of a frame. */
  frameStart: boolean;
  /** Bytes of payload descriptor before the VP8 payload. */
  headerLength: number;
}

/** Parses the VP8 payload descriptor (RFC 7741 §4.2); undefined if truncated. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  if (payload.length < 1) return undefined;
  const b0 = payload[0]!;
  const extended = (b0 & 0x80) !== 0;
  const start = (b0 & 0x10) !== 0;
  const partitionId = b0 & 0x07;
  let offset = 1;
  if (extended) {
    if (payload.length < 2) return undefined;
    const x = payload[1]!;
    offset = 2;
    if (x & 0x80) {
      // I: PictureID, 7 or 15 bits (M bit)
      if (payload.length < offset + 1) return undefined;
      offset += payload[offset]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) offset += 1; // L: TL0PICIDX
    if (x & 0x30) offset += 1; // T or K: TID / Y / KEYIDX
  }
  if (offset > payload.length) return undefined;
  return { frameStart: start && partitionId === 0, headerLength: offset };
}

export interface Vp8FrameInfo {
  keyFrame: boolean;
  /** Key frames only: from the frame header (14-bit width and height, scaling bits dropped). */
  width?: number;
  height?: number;
  bytes: number;
  rtpTimestamp: number;
}

/** Inspects a reassembled VP8 frame (RFC 6386 §9.1): key frames carry the start code and the size. */
export function inspectVp8Frame(frame: Uint8Array, rtpTimestamp: number): Vp8FrameInfo | undefined {
  if (frame.length < 3) return undefined;
  const keyFlag = (frame[0]! & 0x01) === 0; // P bit: 0 = key frame
  if (!keyFlag) return { keyFrame: false, bytes: frame.length, rtpTimestamp };
  // A key frame must start with 0x9d 0x01 0x2a at bytes 3..5; without it the "frame" is garbage.
  if (frame.length < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return { keyFrame: true, width, height, bytes: frame.length, rtpTimestamp };
}

interface PendingFrame {
  packets: Map<number, Uint8Array>;
  startSeq?: number;
  endSeq?: number;
}

export interface AssemblerCounters {
  /** Complete frames (all packets from start to marker). */
  frames: number;
  keyFrames: number;
  /**
   * Complete frames a decoder could use: after a key frame, with no frame given up since it
   * (approximate under reordering: a frame completing while an older one still waits counts).
   */
  decodableFrames: number;
  /** Frames given up on (a packet never arrived). */
  incompleteFrames: number;
  /** Complete frames that failed inspection (e.g. key frame without start code). */
  corruptFrames: number;
  /**
   * Packets set aside without joining a frame: a payload descriptor that cannot be read, or a
   * packet older in sequence than the newest whose frame is over a second old. Zero in a healthy
   * stream; a count here with few frames says where a stream's packets went.
   */
  ignoredPackets: number;
}

/** Reassembles VP8 frames from RTP packets of one stream, in any arrival order. */
export class Vp8FrameAssembler implements AssemblerCounters {
  frames = 0;
  keyFrames = 0;
  decodableFrames = 0;
  incompleteFrames = 0;
  corruptFrames = 0;
  ignoredPackets = 0;
  lastKeyFrame: Vp8FrameInfo | undefined;
  readonly #pending = new Map<number, PendingFrame>();
  /** RTP timestamps of frames already completed or given up (late retransmissions are ignored). */
  readonly #done: number[] = [];
  /** The RTP timestamp of the packet newest in sequence (not the highest timestamp: see push()). */
  #newestTimestamp: number | undefined;
  #newestSeq = -1;
  /** True from a lost frame until the next key frame: what follows cannot be decoded. */
  #broken = true;

  /** Maximum age (RTP ticks, 90 kHz) of a frame still waiting for packets: 1 s. */
  static readonly MAX_WAIT_TICKS = 90_000;

  /**
   * Adds one packet (extended sequence number); returns the frame it completed, if any.
   *
   * Order is the sequence number's, as a browser's receiver keeps it, not the timestamp's: an SFU
   * switching simulcast layers before it has the sender's reports for them may send the new layer's
   * timestamps unaligned — seen with mediasoup 3.27 on a camera published a moment before, a jump of
   * 75 minutes back (a load test's viewer once counted 2 frames in 10 s, setting every later packet
   * aside as "late"). A packet newer in sequence is never late, whatever its timestamp.
   */
  push(extSeq: number, timestamp: number, marker: boolean, payload: Uint8Array): Vp8FrameInfo | undefined {
    if (this.#done.includes(timestamp)) return undefined;
    const descriptor = parseVp8Descriptor(payload);
    if (!descriptor) return this.#ignore();
    if (extSeq > this.#newestSeq) {
      this.#newestSeq = extSeq;
      this.#newestTimestamp = timestamp;
    } else if (Math.abs((this.#newestTimestamp! - timestamp) | 0) > Vp8FrameAssembler.MAX_WAIT_TICKS) {
      return this.#ignore(); // a reordered packet of a frame too old to matter
    }
    let frame = this.#pending.get(timestamp);
    if (!frame) {
      frame = { packets: new Map() };
      this.#pending.set(timestamp, frame);
    }
    frame.packets.set(extSeq, payload.subarray(descriptor.headerLength));
    if (descriptor.frameStart) frame.startSeq = extSeq;
    if (marker) frame.endSeq = extSeq;
    // Give up on stale frames first, so a frame completing after a lost one is not counted decodable.
    this.#prune(timestamp);
    return this.#tryComplete(timestamp, frame);
  }

  /** True if frames were lost since the last key frame (a decoder would ask for one). */
  get needsKeyFrame(): boolean {
    return this.#broken;
  }

  #tryComplete(timestamp: number, frame: PendingFrame): Vp8FrameInfo | undefined {
    if (frame.startSeq === undefined || frame.endSeq === undefined || frame.endSeq < frame.startSeq) return undefined;
    const count = frame.endSeq - frame.startSeq + 1;
    if (frame.packets.size < count) return undefined;
    const parts: Uint8Array[] = [];
    for (let s = frame.startSeq; s <= frame.endSeq; s++) {
      const part = frame.packets.get(s);
      if (!part) return undefined;
      parts.push(part);
    }
    this.#finish(timestamp);
    const info = inspectVp8Frame(Buffer.concat(parts), timestamp);
    if (!info) {
      this.corruptFrames++;
      this.#broken = true;
      return undefined;
    }
    this.frames++;
    if (info.keyFrame) {
      this.keyFrames++;
      this.lastKeyFrame = info;
      this.#broken = false;
    }
    if (!this.#broken) this.decodableFrames++;
    return info;
  }

  #ignore(): undefined {
    this.ignoredPackets++;
    return undefined;
  }

  #finish(timestamp: number): void {
    this.#pending.delete(timestamp);
    this.#done.push(timestamp);
    if (this.#done.length > 128) this.#done.shift();
  }

  #prune(current: number): void {
    const newest = this.#newestTimestamp;
    if (newest === undefined) return;
    for (const [timestamp] of this.#pending) {
      if (timestamp === current) continue;
      // Either side of the newest: after a jump back, frames from before it are "ahead" and given up too.
      if (Math.abs((newest - timestamp) | 0) > Vp8FrameAssembler.MAX_WAIT_TICKS || this.#pending.size > 64) {
        this.#finish(timestamp);
        this.incompleteFrames++;
        this.#broken = true;
      }
    }
  }
}
