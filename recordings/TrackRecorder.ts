/**
 * Records one producer into one file. mediasoup forwards the producer's RTP through a PlainTransport
 * to a loopback port where FFmpeg listens and writes the packets unchanged into a container. The
 * consumer is created paused and resumed only once FFmpeg's socket exists (packets sent earlier would
 * be lost), and key frames are requested a few times so the video file starts with a decodable frame.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { MediaSource } from '../signaling/protocol/index.js';
import type { Logger } from '../server/logger.js';
import { buildSdp, containerFor, FfmpegRecorder, recorderArgs, type Container, type RecorderExit } from './ffmpeg.js';
import { safeSegment } from './fsutil.js';
import type { ManifestParticipant } from './Manifest.js';
import { DEFAULT_RECORDER_PORTS, reservePortPair, waitForUdpBound, type PortPair, type PortRange } from './ports.js';

export interface TrackRecorderOptions {
  router: types.Router;
  producer: types.Producer;
  source: MediaSource;
  owner: ManifestParticipant;
  /** The session folder; the file and its SDP are written there. */
  dir: string;
  ffmpegPath: string;
  log: Logger;
  portRange?: PortRange;
  keyFrameDelaysMs?: number[];
  /** How long FFmpeg may take to open its socket. */
  bindTimeoutMs?: number;
}

export type TrackRecorderState = 'recording' | 'stopping' | 'ended' | 'failed';

interface TrackRecorderEvents {
  /** The file is closed: stopped on request, the producer closed, or FFmpeg died (`exit.requested` false). */
  ended: [exit: RecorderExit];
}

const DEFAULT_KEY_FRAME_DELAYS_MS = [0, 500, 1500, 3000];
const BIND_ATTEMPTS = 3;

class PortTakenError extends Error {}

/**
 * What the recorder asks of the router: every codec but RTX (FFmpeg would take retransmissions on
 * another payload type for media) and no header extensions (nothing in the file needs them). NACKs
 * still work: mediasoup then resends the original packet on the main stream.
 */
function recorderCapabilities(router: types.Router): types.RtpCapabilities {
  const caps = router.rtpCapabilities;
  return { codecs: (caps.codecs ?? []).filter((c) => !c.mimeType.toLowerCase().endsWith('/rtx')), headerExtensions: [] };
}

export class TrackRecorder extends EventEmitter<TrackRecorderEvents> {
  readonly trackId: string;
  readonly producerId: string;
  readonly source: MediaSource;
  readonly owner: ManifestParticipant;
  readonly mediaType: types.MediaKind;
  readonly codec: string;
  readonly contentType: string;
  /** Relative to the session folder. */
  readonly file: string;
  readonly sdpFile: string;
  /** When the consumer was resumed: the first packet follows within milliseconds. */
  readonly startedAt: Date;
  readonly #transport: types.PlainTransport;
  readonly #consumer: types.Consumer;
  readonly #recorder: FfmpegRecorder;
  readonly #ports: PortPair;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[] = [];
  #state: TrackRecorderState = 'recording';
  #endedAt: Date | undefined;
  #exit: RecorderExit | undefined;

  private constructor(init: {
    trackId: string; options: TrackRecorderOptions; codec: string; contentType: string; file: string; sdpFile: string;
    transport: types.PlainTransport; consumer: types.Consumer; recorder: FfmpegRecorder; ports: PortPair; log: Logger;
  }) {
    super();
    this.trackId = init.trackId;
    this.producerId = init.options.producer.id;
    this.source = init.options.source;
    this.owner = init.options.owner;
    this.mediaType = init.options.producer.kind;
    this.codec = init.codec;
    this.contentType = init.contentType;
    this.file = init.file;
    this.sdpFile = init.sdpFile;
    this.startedAt = new Date();
    this.#transport = init.transport;
    this.#consumer = init.consumer;
    this.#recorder = init.recorder;
    this.#ports = init.ports;
    this.#log = init.log;
    // The producer closing (unpublished, participant left) or the router closing ends the file.
    this.#consumer.observer.once('close', () => void this.stop());
    this.#recorder.once('exit', (exit) => this.#onExit(exit));
  }

  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const mime = options.producer.rtpParameters.codecs[0]?.mimeType ?? 'unknown';
    const container = containerFor(options.producer.kind, mime); // refuses unsupported codecs before any resource exists
    for (let attempt = 1; ; attempt++) {
      try {
        return await TrackRecorder.#attempt(options, container);
      } catch (error) {
        // Another process took the port between our bind test and FFmpeg's bind: try another pair.
        if (error instanceof PortTakenError && attempt < BIND_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  static async #attempt(options: TrackRecorderOptions, container: Container): Promise<TrackRecorder> {
    const { router, producer, dir, log } = options;
    const trackId = randomUUID();
    const base = `${options.source}-${safeSegment(options.owner.identity)}-${trackId.slice(0, 8)}`;
    const file = `${base}${container.extension}`;
    const sdpFile = `${base}.sdp`;
    const tlog = log.child({ track: trackId, producer: producer.id, source: options.source });
    const ports = await reservePortPair(options.portRange ?? DEFAULT_RECORDER_PORTS);
    let transport: types.PlainTransport | undefined;
    let recorder: FfmpegRecorder | undefined;
    try {
      transport = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: false,
        comedia: false,
        appData: { recording: true },
      });
      await transport.connect({ ip: '127.0.0.1', port: ports.rtpPort, rtcpPort: ports.rtcpPort });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(router), paused: true, appData: { recording: true } });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('the recording consumer has no codec');
      writeFileSync(path.join(dir, sdpFile), buildSdp(producer.kind, codec, ports.rtpPort, ports.rtcpPort), { mode: 0o640 });
      const rec = new FfmpegRecorder(options.ffmpegPath, recorderArgs(path.join(dir, sdpFile), path.join(dir, file), container));
      recorder = rec;
      const bound = await waitForUdpBound(ports.rtpPort, { timeoutMs: options.bindTimeoutMs ?? 5000, giveUp: () => !rec.running });
      if (!bound) {
        const exit = rec.running ? await rec.stop({ graceMs: 500 }) : await rec.exited;
        if (/address already in use|bind failed/i.test(exit.stderrTail)) throw new PortTakenError(exit.stderrTail);
        throw new Error(`the recorder did not start: ${exit.stderrTail || 'no listening socket after waiting'}`);
      }
      const track = new TrackRecorder({ trackId, options, codec: codec.mimeType, contentType: container.contentType, file, sdpFile, transport, consumer, recorder: rec, ports, log: tlog });
      if (producer.kind === 'video') await track.#askForFirstKeyFrame(options.keyFrameDelaysMs);
      await consumer.resume();
      tlog.info({ file, pid: rec.pid, port: ports.rtpPort, codec: codec.mimeType }, 'track recording started');
      return track;
    } catch (error) {
      transport?.close();
      ports.release();
      if (recorder?.running) await recorder.stop({ graceMs: 500 });
      throw error;
    }
  }

  /**
   * The file starts decodable only from a key frame. Ask at the given moments, and until one has
   * actually gone out to FFmpeg (seen through the consumer's keyframe trace) every 300 ms for up to
   * 5 s: an encoder busy with other subscribers may ignore the first requests.
   */
  async #askForFirstKeyFrame(delaysMs: number[] = DEFAULT_KEY_FRAME_DELAYS_MS): Promise<void> {
    const consumer = this.#consumer;
    let seen = false;
    await consumer.enableTraceEvent(['keyframe']);
    consumer.on('trace', (trace) => {
      if (trace.type !== 'keyframe' || seen) return;
      seen = true;
      void consumer.enableTraceEvent([]).catch(() => undefined);
    });
    const ask = () => void consumer.requestKeyFrame().catch(() => undefined);
    for (const delay of delaysMs) this.#timers.push(setTimeout(ask, delay));
    const started = Date.now();
    const poll = setInterval(() => {
      if (seen || Date.now() - started > 5000 || consumer.closed) return clearInterval(poll);
      ask();
    }, 300);
    this.#timers.push(poll);
  }

  get state(): TrackRecorderState {
    return this.#state;
  }

  get pid(): number | null {
    return this.#recorder.pid ?? null;
  }

  /** The loopback port FFmpeg listens on. */
  get rtpPort(): number {
    return this.#ports.rtpPort;
  }

  /** The SSRC of the stream sent to FFmpeg. */
  get ssrc(): number | null {
    return this.#consumer.rtpParameters.encodings?.[0]?.ssrc ?? null;
  }

  get endedAt(): Date | undefined {
    return this.#endedAt;
  }

  get exit(): RecorderExit | undefined {
    return this.#exit;
  }

  /** Ends the file cleanly and resolves once FFmpeg has exited. Safe to call more than once. */
  async stop(): Promise<RecorderExit> {
    if (this.#state === 'recording') {
      this.#state = 'stopping';
      for (const t of this.#timers) clearTimeout(t);
      const ssrc = this.ssrc;
      await this.#recorder.stop(ssrc === null ? {} : { bye: { port: this.#ports.rtpPort, ssrc } });
    }
    return this.#recorder.exited;
  }

  #onExit(exit: RecorderExit): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#exit = exit;
    this.#endedAt = new Date();
    this.#state = exit.requested ? 'ended' : 'failed';
    this.#transport.close();
    this.#ports.release();
    if (exit.requested) this.#log.info({ code: exit.code, signal: exit.signal }, 'track recording ended');
    else this.#log.error({ code: exit.code, signal: exit.signal, ffmpeg: exit.stderrTail }, 'track recorder exited unexpectedly');
    this.emit('ended', exit);
  }
}
