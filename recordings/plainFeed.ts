/**
 * One producer's RTP handed to a local FFmpeg: the pipeline shared by the per-track recorders and
 * the HLS output. A PlainTransport on loopback (`rtcpMux: false`, `comedia: false`: we tell it where
 * to send) carries a consumer created **paused**, for an even/odd port pair reserved in-process.
 *
 *   open() → write the SDP (feed.sdpStream) → spawn FFmpeg → waitForListener() → start() → … → close()
 *
 * The consumer is resumed only once FFmpeg's socket exists: packets sent earlier would be lost, and
 * the key frame with them. Video then gets key-frame requests until the consumer's 'keyframe' trace
 * shows one actually went out, because an encoder busy with other subscribers may ignore the first.
 */
import type { types } from 'mediasoup';
import type { FfmpegRecorder } from './ffmpeg.js';
import { DEFAULT_RECORDER_PORTS, reservePortPair, waitForUdpBound, type PortPair, type PortRange } from './ports.js';
import type { SdpStream } from './sdp.js';

export interface PlainFeedOptions {
  router: types.Router;
  producerId: string;
  /**
   * What the consumer may receive. Recorders pass `recorderCapabilities(router)`; anything else
   * whose first negotiated codec FFmpeg can depacketize from the SDP works too.
   */
  rtpCapabilities: types.RtpCapabilities;
  portRange?: PortRange;
  /** Put on both the transport and the consumer, so stats and listeners can tell them apart. */
  appData?: types.AppData;
}

export const DEFAULT_KEY_FRAME_DELAYS_MS = [0, 500, 1500, 3000];
/** After the scheduled requests, keep asking this often, for this long, until one went out. */
const KEY_FRAME_POLL_MS = 300;
const KEY_FRAME_POLL_FOR_MS = 5000;

/**
 * What a consumer feeding FFmpeg asks of the router: every codec but RTX (FFmpeg would take
 * retransmissions on another payload type for media) and no header extensions (nothing FFmpeg
 * writes needs them). NACKs still work: mediasoup then resends the original packet on the main stream.
 */
export function recorderCapabilities(router: types.Router): types.RtpCapabilities {
  const caps = router.rtpCapabilities;
  return { codecs: (caps.codecs ?? []).filter((c) => !c.mimeType.toLowerCase().endsWith('/rtx')), headerExtensions: [] };
}

export class PlainFeed {
  readonly transport: types.PlainTransport;
  readonly consumer: types.Consumer;
  readonly ports: PortPair;
  /** The codec FFmpeg receives (the consumer's first): what the SDP must describe. */
  readonly codec: types.RtpCodecParameters;
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;

  private constructor(transport: types.PlainTransport, consumer: types.Consumer, ports: PortPair, codec: types.RtpCodecParameters) {
    this.transport = transport;
    this.consumer = consumer;
    this.ports = ports;
    this.codec = codec;
  }

  /** Reserves a port pair and creates the transport and the paused consumer; on failure frees all of it. */
  static async open(options: PlainFeedOptions): Promise<PlainFeed> {
    const ports = await reservePortPair(options.portRange ?? DEFAULT_RECORDER_PORTS);
    let transport: types.PlainTransport | undefined;
    try {
      transport = await options.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: false,
        comedia: false,
        ...(options.appData ? { appData: options.appData } : {}),
      });
      const consumer = await transport.consume({
        producerId: options.producerId,
        rtpCapabilities: options.rtpCapabilities,
        paused: true,
        ...(options.appData ? { appData: options.appData } : {}),
      });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('the consumer feeding FFmpeg has no codec');
      return new PlainFeed(transport, consumer, ports, codec);
    } catch (error) {
      transport?.close();
      ports.release();
      throw error;
    }
  }

  get kind(): types.MediaKind {
    return this.consumer.kind;
  }

  /** The SSRC of the stream sent to FFmpeg (for the RTCP BYE that ends its input). */
  get ssrc(): number | null {
    return this.consumer.rtpParameters.encodings?.[0]?.ssrc ?? null;
  }

  /** This feed as one media section of FFmpeg's SDP. */
  get sdpStream(): SdpStream {
    return { kind: this.kind, codec: this.codec, rtpPort: this.ports.rtpPort, rtcpPort: this.ports.rtcpPort };
  }

  /**
   * True once `ffmpeg` listens on our RTP port; false if it exited first or did not bind within
   * `timeoutMs` (callers must then fail: resuming would send media nobody reads).
   */
  waitForListener(ffmpeg: FfmpegRecorder, timeoutMs = 5000): Promise<boolean> {
    return waitForUdpBound(this.ports.rtpPort, { timeoutMs, giveUp: () => !ffmpeg.running || this.#closed });
  }

  /**
   * Points the transport at FFmpeg's port pair, starts the key-frame requests (video) and resumes
   * the consumer. Call only after `waitForListener` said true.
   */
  async start(keyFrameDelaysMs: number[] = DEFAULT_KEY_FRAME_DELAYS_MS): Promise<void> {
    await this.transport.connect({ ip: '127.0.0.1', port: this.ports.rtpPort, rtcpPort: this.ports.rtcpPort });
    if (this.kind === 'video') await this.#askForFirstKeyFrame(keyFrameDelaysMs);
    await this.consumer.resume();
  }

  /** Ends the key-frame requests (the feed is stopping; no point waking the presenter's encoder). */
  stopKeyFrames(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
  }

  /** Closes the transport (and so the consumer) and frees the ports. Safe to call more than once. */
  close(): void {
    this.stopKeyFrames();
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.ports.release();
  }

  /**
   * The output starts decodable only from a key frame. Ask at the given moments, and until one has
   * actually gone out to FFmpeg (seen through the consumer's keyframe trace) every 300 ms for up to
   * 5 s.
   */
  async #askForFirstKeyFrame(delaysMs: number[]): Promise<void> {
    const consumer = this.consumer;
    let seen = false;
    await consumer.enableTraceEvent(['keyframe']);
    consumer.on('trace', (trace) => {
      if (trace.type !== 'keyframe' || seen) return;
      seen = true;
      // Tracing every key frame for the life of the feed would cost a message per key frame.
      void consumer.enableTraceEvent([]).catch(() => undefined);
    });
    const ask = (): void => void consumer.requestKeyFrame().catch(() => undefined);
    for (const delay of delaysMs) this.#timers.push(setTimeout(ask, delay));
    const started = Date.now();
    const poll = setInterval(() => {
      if (seen || Date.now() - started > KEY_FRAME_POLL_FOR_MS || consumer.closed) return clearInterval(poll);
      ask();
    }, KEY_FRAME_POLL_MS);
    this.#timers.push(poll);
  }
}
