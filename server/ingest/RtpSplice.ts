/**
 * Joins the RTP of successive relay FFmpegs into one continuous stream for mediasoup.
 *
 * An RTMP encoder that drops and comes back within the grace period gets a new relay FFmpeg, which
 * keeps the programme's SSRC but starts a new random sequence number and a new random RTP timestamp
 * base (FFmpeg's RTP muxer cannot be told the timestamp base). Passed on as is, the stream jumps
 * backwards about half the time: the viewers' browsers then drop every new frame as older than the
 * last one decoded, and the picture stays frozen while the sound (whose decoder does not care)
 * resumes. So the relay sends here, and each new FFmpeg — a new source port — is spliced on where
 * the last one ended: the next sequence number, and a timestamp advanced by the wall-clock time of
 * the gap. Its RTCP sender reports get the same timestamp shift and this splice's own packet and
 * byte counts; its RTCP BYE is dropped (the programme goes on).
 *
 * Nothing goes to FFmpeg: mediasoup's receiver reports and key-frame requests land here and are
 * dropped, as FFmpeg ignored them anyway (RtmpRelay says how key frames come instead).
 */
import dgram from 'node:dgram';
import type { Logger } from '../logger.js';

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;
const RTCP_SR = 200;
const RTCP_BYE = 203;

const mod = (n: number, m: number): number => ((n % m) + m) % m;
/** `a` comes after `b` in sequence-number order (RFC 3550's 16-bit wrap-around). */
const seqAfter = (a: number, b: number): boolean => a !== b && mod(a - b, SEQ_MOD) < SEQ_MOD / 2;

/** Payload bytes of an RTP packet (what a sender report's octet count counts), 0 if malformed. */
function payloadLength(packet: Buffer): number {
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (offset + 4 > packet.length) return 0;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  return Math.max(0, packet.length - offset - padding);
}

/**
 * The rewriting rules, apart from sockets: `source` is the UDP port a packet came from (one relay
 * FFmpeg sends its RTP from one port, its RTCP from the next).
 */
export class RtpTimeline {
  readonly #clockRate: number;
  readonly #now: () => number;
  #source: number | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  /** The latest packet sent on, in output numbering, and when (ms). */
  #last: { seq: number; ts: number; at: number } | undefined;
  #packets = 0;
  #octets = 0;
  /** How many times a new sender was spliced on. */
  splices = 0;

  constructor(clockRate: number, now: () => number = () => performance.now()) {
    this.#clockRate = clockRate;
    this.#now = now;
  }

  /** Rewrites an RTP packet in place; false: not RTP, drop it. */
  rtp(packet: Buffer, source: number): boolean {
    if (packet.length < 12 || packet[0]! >> 6 !== 2) return false;
    const seq = packet.readUInt16BE(2);
    const ts = packet.readUInt32BE(4);
    if (source !== this.#source) this.#splice(seq, ts, source);
    const outSeq = mod(seq + this.#seqOffset, SEQ_MOD);
    const outTs = mod(ts + this.#tsOffset, TS_MOD);
    packet.writeUInt16BE(outSeq, 2);
    packet.writeUInt32BE(outTs, 4);
    // Kept in place, not reallocated: this runs for every packet of the programme.
    const last = (this.#last ??= { seq: outSeq, ts: outTs, at: this.#now() });
    if (seqAfter(outSeq, last.seq)) {
      last.seq = outSeq;
      last.ts = outTs;
      last.at = this.#now();
    }
    this.#packets = mod(this.#packets + 1, TS_MOD);
    this.#octets = mod(this.#octets + payloadLength(packet), TS_MOD);
    return true;
  }

  /**
   * The RTCP of the current sender, rewritten (a new buffer), or null: from anyone else (a sender
   * replaced, or not spliced on yet), malformed, or nothing left once its BYE is dropped.
   */
  rtcp(packet: Buffer, source: number): Buffer | null {
    if (this.#source === undefined || source !== this.#source + 1) return null;
    const kept: Buffer[] = [];
    for (let offset = 0; offset < packet.length;) {
      if (packet.length - offset < 4 || packet[offset]! >> 6 !== 2) return null;
      const size = 4 * (packet.readUInt16BE(offset + 2) + 1);
      if (offset + size > packet.length) return null;
      const part = Buffer.from(packet.subarray(offset, offset + size));
      const type = part[1]!;
      if (type === RTCP_SR && size >= 28) {
        part.writeUInt32BE(mod(part.readUInt32BE(16) + this.#tsOffset, TS_MOD), 16);
        part.writeUInt32BE(this.#packets, 20);
        part.writeUInt32BE(this.#octets, 24);
      }
      if (type !== RTCP_BYE) kept.push(part);
      offset += size;
    }
    return kept.length ? Buffer.concat(kept) : null;
  }

  /** A new sender: its first packet follows the last one sent on, after the time that passed. */
  #splice(seq: number, ts: number, source: number): void {
    this.#source = source;
    if (!this.#last) return; // the first sender goes through unchanged
    this.splices++;
    const gap = Math.max(1, Math.round(((this.#now() - this.#last.at) * this.#clockRate) / 1000));
    this.#seqOffset = mod(this.#last.seq + 1 - seq, SEQ_MOD);
    this.#tsOffset = mod(this.#last.ts + gap - ts, TS_MOD);
  }
}

/**
 * Two loopback UDP sockets for one track of a programme: the relay FFmpeg sends its RTP and RTCP to
 * them (`ports`), and they send it on to mediasoup's PlainTransport (`deliverTo`), which is
 * connected back to them — the same peer for mediasoup however often FFmpeg is replaced.
 */
export class RtpSplice {
  readonly #rtp: dgram.Socket;
  readonly #rtcp: dgram.Socket;
  readonly #timeline: RtpTimeline;
  #target: { rtpPort: number; rtcpPort: number } | undefined;

  private constructor(rtp: dgram.Socket, rtcp: dgram.Socket, clockRate: number, log: Logger) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.#timeline = new RtpTimeline(clockRate);
    for (const socket of [rtp, rtcp]) socket.on('error', (err) => log.warn({ err }, 'RTMP relay splice socket'));
    rtp.on('message', (packet, from) => {
      const target = this.#target;
      if (!target || from.port === target.rtpPort || !this.#timeline.rtp(packet, from.port)) return;
      rtp.send(packet, target.rtpPort, '127.0.0.1');
    });
    rtcp.on('message', (packet, from) => {
      const target = this.#target;
      if (!target || from.port === target.rtcpPort) return; // mediasoup's reports: FFmpeg cannot use them
      const out = this.#timeline.rtcp(packet, from.port);
      if (out) rtcp.send(out, target.rtcpPort, '127.0.0.1');
    });
  }

  static async open(clockRate: number, log: Logger): Promise<RtpSplice> {
    const bind = () =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const socket = dgram.createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve(socket);
        });
      });
    const rtp = await bind();
    try {
      return new RtpSplice(rtp, await bind(), clockRate, log);
    } catch (error) {
      rtp.close();
      throw error;
    }
  }

  /** Where the relay FFmpeg sends, and where mediasoup's PlainTransport connects. */
  get ports(): { rtpPort: number; rtcpPort: number } {
    return { rtpPort: this.#rtp.address().port, rtcpPort: this.#rtcp.address().port };
  }

  /** mediasoup's PlainTransport ports: from now on the media goes there. */
  deliverTo(rtpPort: number, rtcpPort: number): void {
    this.#target = { rtpPort, rtcpPort };
  }

  close(): void {
    this.#target = undefined;
    for (const socket of [this.#rtp, this.#rtcp]) socket.close();
  }
}
