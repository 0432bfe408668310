/**
 * Records one producer into one file. mediasoup forwards the producer's RTP through a PlainTransport
 * to a loopback port where FFmpeg listens and writes the packets unchanged into a container. The
 * transport, the paused consumer, the wait for FFmpeg's socket and the key-frame requests are the
 * shared `PlainFeed` (also used by the HLS output); this file adds the container, the file names,
 * the retry when another process takes the port, and the end of the file.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { MediaSource } from '../signaling/protocol/index.js';
import type { RecordingsLogger } from './logger.js';
import { buildSdp, containerFor, FfmpegRecorder, recorderArgs, type Container, type RecorderExit } from './ffmpeg.js';
import { safeSegment } from './fsutil.js';
import type { ManifestParticipant } from './Manifest.js';
import { PlainFeed, recorderCapabilities } from './plainFeed.js';
import type { PortRange } from './ports.js';

export interface TrackRecorderOptions {
  router: types.Router;
  producer: types.Producer;
  source: MediaSource;
  owner: ManifestParticipant;
  /** The session folder; the file and its SDP are written there. */
  dir: string;
  ffmpegPath: string;
  log: RecordingsLogger;
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

const BIND_ATTEMPTS = 3;

class PortTakenError extends Error {}

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
  readonly #feed: PlainFeed;
  readonly #recorder: FfmpegRecorder;
  readonly #log: RecordingsLogger;
  #state: TrackRecorderState = 'recording';
  #endedAt: Date | undefined;
  #exit: RecorderExit | undefined;

  private constructor(init: {
    trackId: string;
    options: TrackRecorderOptions;
    contentType: string;
    file: string;
    sdpFile: string;
    feed: PlainFeed;
    recorder: FfmpegRecorder;
    log: RecordingsLogger;
  }) {
    super();
    this.trackId = init.trackId;
    this.producerId = init.options.producer.id;
    this.source = init.options.source;
    this.owner = init.options.owner;
    this.mediaType = init.options.producer.kind;
    this.codec = init.feed.codec.mimeType;
    this.contentType = init.contentType;
    this.file = init.file;
    this.sdpFile = init.sdpFile;
    this.startedAt = new Date();
    this.#feed = init.feed;
    this.#recorder = init.recorder;
    this.#log = init.log;
    // The producer closing (unpublished, participant left) or the router closing ends the file.
    this.#feed.consumer.observer.once('close', () => void this.stop());
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
    const feed = await PlainFeed.open({
      router,
      producerId: producer.id,
      rtpCapabilities: recorderCapabilities(router),
      ...(options.portRange ? { portRange: options.portRange } : {}),
      appData: { recording: true },
    });
    const { ports, codec } = feed;
    let recorder: FfmpegRecorder | undefined;
    try {
      writeFileSync(path.join(dir, sdpFile), buildSdp(producer.kind, codec, ports.rtpPort, ports.rtcpPort), { mode: 0o640 });
      const rec = new FfmpegRecorder(options.ffmpegPath, recorderArgs(path.join(dir, sdpFile), path.join(dir, file), container));
      recorder = rec;
      if (!(await feed.waitForListener(rec, options.bindTimeoutMs ?? 5000))) {
        const exit = rec.running ? await rec.stop({ graceMs: 500 }) : await rec.exited;
        if (/address already in use|bind failed/i.test(exit.stderrTail)) throw new PortTakenError(exit.stderrTail);
        throw new Error(`the recorder did not start: ${exit.stderrTail || 'no listening socket after waiting'}`);
      }
      const track = new TrackRecorder({
        trackId,
        options,
        contentType: container.contentType,
        file,
        sdpFile,
        feed,
        recorder: rec,
        log: tlog,
      });
      await feed.start(options.keyFrameDelaysMs);
      tlog.info({ file, pid: rec.pid, port: ports.rtpPort, codec: codec.mimeType }, 'track recording started');
      return track;
    } catch (error) {
      feed.close();
      if (recorder?.running) await recorder.stop({ graceMs: 500 });
      throw error;
    }
  }

  get state(): TrackRecorderState {
    return this.#state;
  }

  get pid(): number | null {
    return this.#recorder.pid ?? null;
  }

  /** The loopback port FFmpeg listens on. */
  get rtpPort(): number {
    return this.#feed.ports.rtpPort;
  }

  /** The SSRC of the stream sent to FFmpeg. */
  get ssrc(): number | null {
    return this.#feed.ssrc;
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
      this.#feed.stopKeyFrames();
      const ssrc = this.ssrc;
      await this.#recorder.stop(ssrc === null ? {} : { bye: { port: this.#feed.ports.rtpPort, ssrc } });
    }
    return this.#recorder.exited;
  }

  #onExit(exit: RecorderExit): void {
    this.#exit = exit;
    this.#endedAt = new Date();
    this.#state = exit.requested ? 'ended' : 'failed';
    this.#feed.close();
    if (exit.requested) this.#log.info({ code: exit.code, signal: exit.signal }, 'track recording ended');
    else this.#log.error({ code: exit.code, signal: exit.signal, ffmpeg: exit.stderrTail }, 'track recorder exited unexpectedly');
    this.emit('ended', exit);
  }
}
