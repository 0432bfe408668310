/**
 * Records one producer into one file per recorder process. mediasoup forwards the producer's RTP
 * through a PlainTransport to a loopback port where FFmpeg listens and writes the packets unchanged
 * into a container. The transport, the paused consumer, the wait for FFmpeg's socket and the
 * key-frame requests are the shared `PlainFeed` (also used by the HLS output); this file adds the
 * container, the file names, the retry when another process takes the port, the end of the file, and
 * the restart of a recorder that dies.
 *
 * A recorder that dies while the recording and the producer are still alive is replaced by a new one
 * writing a new file (segment 2, 3, …), on a new feed (new port pair, new paused consumer, fresh
 * key-frame requests, so the new file starts decodable). At most `restartLimit.max` restarts per
 * `restartLimit.windowMs` (default 5 per minute): beyond that the track ends as failed.
 *
 * A track can end while its recorder is still starting: the producer closes (a participant publishes
 * and unpublishes at once), the router closes, or the recording stops. mediasoup then refuses the
 * start-up's calls on objects that are gone ("Channel request handler with ID … not found",
 * WorkerClosedError, NotFoundError). That is no failure: the start gives up with `TrackEndedEarly`,
 * having closed its feed, stopped FFmpeg and removed the files of the attempt (no media reached them:
 * the consumer was never resumed). The same error while the producer, router and recording all live
 * stays a real error.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { MediaSource } from '../signaling/protocol/index.js';
import type { RecordingsLogger } from './logger.js';
import { buildSdp, containerFor, FfmpegRecorder, recorderArgs, type Container, type RecorderExit } from './ffmpeg.js';
import { safeSegment, toError } from './fsutil.js';
import type { ManifestParticipant } from './Manifest.js';
import { PlainFeed, recorderCapabilities } from './plainFeed.js';
import type { PortRange } from './ports.js';

export interface RestartLimit {
  /** Restarts allowed within `windowMs`; 0 never restarts. */
  max: number;
  windowMs: number;
}

export const DEFAULT_RESTART_LIMIT: RestartLimit = { max: 5, windowMs: 60_000 };

export interface TrackRecorderOptions {
  router: types.Router;
  producer: types.Producer;
  source: MediaSource;
  owner: ManifestParticipant;
  /** The session folder; the files and their SDPs are written there. */
  dir: string;
  ffmpegPath: string;
  log: RecordingsLogger;
  portRange?: PortRange;
  keyFrameDelaysMs?: number[];
  /** How long FFmpeg may take to open its socket. */
  bindTimeoutMs?: number;
  restartLimit?: RestartLimit;
  /** False once the recording no longer wants the track (it is stopping): a start in progress gives up. */
  wanted?: () => boolean;
}

/**
 * The track ended before its recorder started (or before a restart took over): nothing was recorded
 * and nothing failed. `reason` says what ended it; `cause` is mediasoup's refusal, if one came first.
 */
export class TrackEndedEarly extends Error {
  readonly reason: string;
  constructor(reason: string, options?: ErrorOptions) {
    super(`the track ended before its recording started: ${reason}`, options);
    this.name = 'TrackEndedEarly';
    this.reason = reason;
  }
}

/** Why the track can no longer be recorded, or null while it can. */
function goneReason(options: TrackRecorderOptions): string | null {
  if (options.producer.closed) return 'its producer closed';
  if (options.router.closed) return "the room's router closed";
  if (options.wanted && !options.wanted()) return 'the recording stopped';
  return null;
}

export type TrackRecorderState = 'recording' | 'stopping' | 'ended' | 'failed';

/** One recorder process of the track and the file it writes. */
export interface SegmentInfo {
  /** 1 for the first file, then 2, 3… after each restart. */
  index: number;
  /** Relative to the session folder. */
  file: string;
  sdpFile: string;
  /** When its consumer was resumed: the first packet follows within milliseconds. */
  startedAt: Date;
  endedAt: Date | undefined;
  pid: number | null;
  rtpPort: number;
  ssrc: number | null;
  exit: RecorderExit | undefined;
}

interface TrackRecorderEvents {
  /** A new recorder replaced one that died; its file is `segment.file`. */
  segmentStarted: [segment: SegmentInfo];
  /** One recorder exited (`exit.requested` false: it died). Emitted before 'ended' for the last one. */
  segmentEnded: [segment: SegmentInfo, exit: RecorderExit];
  /** The track is over: stopped on request, the producer closed, or its recorder died and was not restarted. */
  ended: [exit: RecorderExit];
}

const BIND_ATTEMPTS = 3;
/** Pause after a restart attempt that failed, times the attempt number. */
const RESTART_BACKOFF_MS = 250;

class PortTakenError extends Error {}

/** A recorder process, the feed into it and its file. */
class Segment {
  readonly index: number;
  readonly file: string;
  readonly sdpFile: string;
  readonly feed: PlainFeed;
  readonly recorder: FfmpegRecorder;
  readonly startedAt = new Date();
  endedAt: Date | undefined;
  exit: RecorderExit | undefined;
  /** Set when we close its feed ourselves, so the consumer's close is not taken for the producer's. */
  closing = false;

  constructor(index: number, file: string, sdpFile: string, feed: PlainFeed, recorder: FfmpegRecorder) {
    this.index = index;
    this.file = file;
    this.sdpFile = sdpFile;
    this.feed = feed;
    this.recorder = recorder;
  }

  info(): SegmentInfo {
    return {
      index: this.index,
      file: this.file,
      sdpFile: this.sdpFile,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      pid: this.recorder.pid ?? null,
      rtpPort: this.feed.ports.rtpPort,
      ssrc: this.feed.ssrc,
      exit: this.exit,
    };
  }
}

export class TrackRecorder extends EventEmitter<TrackRecorderEvents> {
  readonly trackId: string;
  readonly producerId: string;
  readonly source: MediaSource;
  readonly owner: ManifestParticipant;
  readonly mediaType: types.MediaKind;
  readonly codec: string;
  readonly contentType: string;
  /** The first segment's file, relative to the session folder. */
  readonly file: string;
  readonly sdpFile: string;
  /** When the first consumer was resumed. */
  readonly startedAt: Date;
  readonly #options: TrackRecorderOptions;
  readonly #container: Container;
  readonly #log: RecordingsLogger;
  readonly #segments: Segment[] = [];
  readonly #restarts: number[] = [];
  /** Files named so far, failed attempts included: each gets its own name (FFmpeg never overwrites). */
  readonly #names: FileNames;
  #state: TrackRecorderState = 'recording';
  #restarting: Promise<void> | undefined;
  #endedAt: Date | undefined;
  #exit: RecorderExit | undefined;
  readonly #done: Promise<RecorderExit>;
  #resolveDone: (exit: RecorderExit) => void = () => undefined;
  // The producer closing (unpublished, participant left) or the router closing ends the track.
  readonly #onProducerClose = (): void => void this.stop();

  private constructor(options: TrackRecorderOptions, init: { trackId: string; container: Container; first: Segment; names: FileNames }) {
    super();
    this.#options = options;
    this.trackId = init.trackId;
    this.producerId = options.producer.id;
    this.source = options.source;
    this.owner = options.owner;
    this.mediaType = options.producer.kind;
    this.codec = init.first.feed.codec.mimeType;
    this.contentType = init.container.contentType;
    this.file = init.first.file;
    this.sdpFile = init.first.sdpFile;
    this.startedAt = init.first.startedAt;
    this.#container = init.container;
    this.#names = init.names;
    this.#log = options.log.child({ track: init.trackId, producer: options.producer.id, source: options.source });
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    options.producer.observer.once('close', this.#onProducerClose);
    this.#adopt(init.first);
    // Closed in the instant between the consumer's resume and this constructor: its 'close' was missed.
    if (options.producer.closed) void this.stop();
  }

  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const mime = options.producer.rtpParameters.codecs[0]?.mimeType ?? 'unknown';
    const container = containerFor(options.producer.kind, mime); // refuses unsupported codecs before any resource exists
    const trackId = randomUUID();
    const base = `${options.source}-${safeSegment(options.owner.identity)}-${trackId.slice(0, 8)}`;
    const names: FileNames = { base, used: 0 };
    let first: Segment;
    try {
      first = await openSegment(options, container, names, 1);
    } catch (error) {
      // mediasoup refusing a call on the closed producer's consumer is the track ending, not a fault.
      const reason = error instanceof TrackEndedEarly ? null : goneReason(options);
      throw reason ? new TrackEndedEarly(reason, { cause: error }) : error;
    }
    const track = new TrackRecorder(options, { trackId, container, first, names });
    // The file name holds the participant's identity: at debug only (info lines name people by pseudonym at most).
    track.#log.info({ pid: first.recorder.pid, port: first.feed.ports.rtpPort, codec: track.codec }, 'track recording started');
    track.#log.debug({ file: first.file }, 'track recording file');
    return track;
  }

  get state(): TrackRecorderState {
    return this.#state;
  }

  /** Every segment so far, the current one last. */
  segments(): SegmentInfo[] {
    return this.#segments.map((s) => s.info());
  }

  get #current(): Segment {
    const current = this.#segments.at(-1);
    if (!current) throw new Error('a track recorder always has a segment');
    return current;
  }

  /** The current recorder's process id. */
  get pid(): number | null {
    return this.#current.recorder.pid ?? null;
  }

  /** The loopback port the current recorder listens on. */
  get rtpPort(): number {
    return this.#current.feed.ports.rtpPort;
  }

  /** The SSRC of the stream sent to the current recorder. */
  get ssrc(): number | null {
    return this.#current.feed.ssrc;
  }

  get endedAt(): Date | undefined {
    return this.#endedAt;
  }

  /** How the last recorder exited, once the track is over. */
  get exit(): RecorderExit | undefined {
    return this.#exit;
  }

  /** Ends the current file cleanly and resolves once the track is over. Safe to call more than once. */
  async stop(): Promise<RecorderExit> {
    if (this.#state === 'recording') {
      this.#state = 'stopping';
      // A restart in flight finishes first (or gives up); then its recorder is the one to stop.
      await this.#restarting;
      const current = this.#current;
      if (current.recorder.running) {
        current.feed.stopKeyFrames();
        const ssrc = current.feed.ssrc;
        await current.recorder.stop(ssrc === null ? {} : { bye: { port: current.feed.ports.rtpPort, ssrc } });
      } else if (current.exit) {
        this.#finish(current.exit); // it died and was not replaced before the stop
      }
    }
    return this.#done;
  }

  #adopt(segment: Segment): void {
    this.#segments.push(segment);
    segment.feed.consumer.observer.once('close', () => {
      if (!segment.closing) void this.stop();
    });
    if (segment.feed.consumer.closed && !segment.closing) void this.stop(); // closed before the listener

    // A promise, not an event: a recorder that died while being adopted is still noticed.
    void segment.recorder.exited.then((exit) => this.#onSegmentExit(segment, exit));
  }

  #onSegmentExit(segment: Segment, exit: RecorderExit): void {
    segment.exit = exit;
    segment.endedAt = new Date();
    segment.closing = true;
    segment.feed.close();
    if (exit.requested) this.#log.info({ segment: segment.index, code: exit.code, signal: exit.signal }, 'track recorder ended');
    else
      this.#log.error(
        { segment: segment.index, code: exit.code, signal: exit.signal, ffmpeg: exit.stderrTail },
        'track recorder exited unexpectedly',
      );
    this.emit('segmentEnded', segment.info(), exit);
    if (exit.requested || this.#state !== 'recording') return this.#finish(exit);
    this.#restarting = this.#restart(exit).finally(() => (this.#restarting = undefined));
  }

  /** Opens a new segment while the recording wants one and the budget allows; else the track ends. */
  async #restart(lastExit: RecorderExit): Promise<void> {
    for (let attempt = 1; this.#state === 'recording' && !goneReason(this.#options); attempt++) {
      if (!this.#takeRestart()) {
        const { max, windowMs } = this.#restartLimit;
        this.#log.error({ max, windowMs }, `track recorder not restarted: ${max} restarts within ${windowMs / 1000} s already`);
        break;
      }
      try {
        const segment = await openSegment(this.#options, this.#container, this.#names, this.#segments.length + 1);
        this.#adopt(segment);
        this.#log.warn(
          { segment: segment.index, file: segment.file, pid: segment.recorder.pid },
          'track recorder restarted as a new segment',
        );
        this.emit('segmentStarted', segment.info());
        return;
      } catch (err) {
        // The producer or the recording ending meanwhile is why it failed: nothing to report.
        if (this.#state !== 'recording' || err instanceof TrackEndedEarly || goneReason(this.#options)) break;
        this.#log.error({ err: toError(err), attempt }, 'track recorder could not be restarted');
        await new Promise((r) => setTimeout(r, RESTART_BACKOFF_MS * attempt));
      }
    }
    this.#finish(lastExit);
  }

  get #restartLimit(): RestartLimit {
    return this.#options.restartLimit ?? DEFAULT_RESTART_LIMIT;
  }

  /** Counts one restart against the sliding window; false once the window is full. */
  #takeRestart(): boolean {
    const { max, windowMs } = this.#restartLimit;
    const now = Date.now();
    while (this.#restarts.length && now - this.#restarts[0]! >= windowMs) this.#restarts.shift();
    if (this.#restarts.length >= max) return false;
    this.#restarts.push(now);
    return true;
  }

  #finish(exit: RecorderExit): void {
    if (this.#state === 'ended' || this.#state === 'failed') return;
    this.#exit = exit;
    this.#endedAt = this.#current.endedAt ?? new Date();
    this.#state = exit.requested ? 'ended' : 'failed';
    this.#options.producer.observer.off('close', this.#onProducerClose);
    this.#resolveDone(exit);
    this.emit('ended', exit);
  }
}

/** How a track's files are named: `<base>.<ext>` first, then `<base>.seg<n>.<ext>` (n counts every file tried). */
interface FileNames {
  base: string;
  used: number;
}

/**
 * Opens segment `index`: a feed, its SDP, FFmpeg writing a new file, then the consumer resumed (and
 * key frames asked for). Another process taking the port between our bind test and FFmpeg's bind
 * is retried on another pair. Every attempt takes a new file name, failed ones included.
 */
async function openSegment(options: TrackRecorderOptions, container: Container, names: FileNames, index: number): Promise<Segment> {
  for (let attempt = 1; ; attempt++) {
    const n = ++names.used;
    const name = n === 1 ? names.base : `${names.base}.seg${n}`;
    try {
      return await openSegmentOnce(options, container, index, `${name}${container.extension}`, `${name}.sdp`);
    } catch (error) {
      // Another process took the port between our bind test and FFmpeg's bind: try another pair.
      if (error instanceof PortTakenError && attempt < BIND_ATTEMPTS && !goneReason(options)) continue;
      throw error;
    }
  }
}

async function openSegmentOnce(
  options: TrackRecorderOptions,
  container: Container,
  index: number,
  file: string,
  sdpFile: string,
): Promise<Segment> {
  const { router, producer, dir } = options;
  // Gone already: open nothing (mediasoup would refuse the consumer anyway).
  throwIfGone(options);
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
    throwIfGone(options); // ended while FFmpeg was starting: do not resume a consumer for nobody
    await feed.start(options.keyFrameDelaysMs);
    // Its time starts now: the consumer is resumed and the first key frame is on its way.
    return new Segment(index, file, sdpFile, feed, rec);
  } catch (error) {
    feed.close();
    if (recorder?.running) await recorder.stop({ graceMs: 500 });
    if (error instanceof TrackEndedEarly || goneReason(options)) removeUnusedFiles(dir, [sdpFile, file]);
    throw error;
  }
}

function throwIfGone(options: TrackRecorderOptions): void {
  const reason = goneReason(options);
  if (reason) throw new TrackEndedEarly(reason);
}

/**
 * An attempt given up because the track ended never had its consumer resumed, so no media reached
 * its file (FFmpeg creates it only once packets arrive): leave no SDP or empty file that no manifest
 * describes. A file with content is kept (never expected; then it is evidence, not litter).
 */
function removeUnusedFiles(dir: string, files: string[]): void {
  for (const name of files) {
    const file = path.join(dir, name);
    try {
      if (name.endsWith('.sdp') || statSync(file).size === 0) rmSync(file, { force: true });
    } catch {
      // not there: nothing to remove
    }
  }
}
