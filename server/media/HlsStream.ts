/**
 * One room's presenters as HLS: a PlainTransport consumer per track (the first presenter video and
 * audio) feeds one FFmpeg, which transcodes only what HLS players need (VP8 → H.264, Opus → AAC)
 * into short segments and a live playlist.
 */
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { wrongState } from '../../signaling/protocol/index.js';
import { DEFAULT_FFMPEG, FfmpegRecorder, LOOPBACK_RTP_INPUT } from '../../recordings/ffmpeg.js';
import { PlainFeed, recorderCapabilities } from '../../recordings/plainFeed.js';
import { sdpSession } from '../../recordings/sdp.js';
import type { Logger } from '../logger.js';
import type { Room } from '../rooms/Room.js';
import { liveH264Args } from './x264.js';

interface HlsEvents {
  /** FFmpeg stopped on its own (the presenter left, or it failed). */
  ended: [];
}

/** How long FFmpeg may take to open its input sockets (it parses the SDP and sets up decoders first). */
const BIND_TIMEOUT_MS = 5000;

/**
 * Segment length (s), and the key-frame interval with it. A player stays about three segments behind
 * the newest one, which itself is up to one segment old: 1 s segments put a player about 4 s behind
 * the presenter, within the programme page's 6 s (2 s segments: about 8). bench/hls-delay.ts measures it.
 */
export const HLS_SEGMENT_SECONDS = 1;

/** Output frame rate: what the SDK's cameras send at most (a 15 fps screen is doubled, cheaply). */
const HLS_FRAME_RATE = 30;

export interface HlsStreamOptions {
  /**
   * Keep every segment (a replay will be made of them): an EVENT playlist that only grows, instead of
   * a sliding live window whose old segments are deleted.
   */
  keepAll?: boolean;
}

export class HlsStream extends EventEmitter<HlsEvents> {
  readonly #ffmpeg: FfmpegRecorder;
  /** The video feed first: its SSRC is the one the RTCP BYE names at stop. */
  readonly #feeds: PlainFeed[];
  #ended = false;
  readonly #log: Logger;
  #stopping = false;

  /**
   * Built as soon as FFmpeg is spawned, before waiting for it to listen: the exit handler must be in
   * place from the start, or a death during the wait would go unnoticed.
   */
  private constructor(ffmpeg: FfmpegRecorder, feeds: PlainFeed[], log: Logger) {
    super();
    this.#ffmpeg = ffmpeg;
    this.#feeds = feeds;
    this.#log = log;
    ffmpeg.once('exit', (exit) => {
      if (this.#stopping) return;
      log.warn({ code: exit.code, stderr: exit.stderrTail }, 'HLS encoder stopped');
      // Nothing reads the feeds any more: free their transports and ports now, not at stop().
      for (const f of this.#feeds) f.close();
      this.#end();
    });
    // The presenter's video is gone (unpublished, left): nothing to stream, so end instead of idling.
    feeds[0]?.consumer.observer.once('close', () => {
      if (this.#stopping) return;
      log.info('HLS source closed; ending the stream');
      this.#end();
    });
  }

  /** Said once, whichever way the stream ended by itself. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('ended');
  }

  /**
   * Resolves once FFmpeg listens and media flows to it. On any failure nothing is left running (no
   * FFmpeg, no transport, no reserved port) and the error says why; the caller removes `dir`.
   */
  static async start(room: Room, dir: string, log: Logger, options: HlsStreamOptions = {}): Promise<HlsStream> {
    const presenters = room.participants().filter((p) => p.publishesByRole);
    const video = presenters.flatMap((p) => [...p.producersOf('camera'), ...p.producersOf('screen')])[0];
    const audio = presenters.flatMap((p) => p.producersOf('microphone'))[0];
    if (!video) throw wrongState('no presenter is publishing video yet');
    await mkdir(dir, { recursive: true });
    const feeds: PlainFeed[] = [];
    let stream: HlsStream | undefined;
    try {
      // Recorder capabilities (no RTX): the SDP describes one payload type per stream, and FFmpeg
      // would misread retransmissions on another one as media.
      for (const track of [video, audio]) {
        if (track)
          feeds.push(
            await PlainFeed.open({
              router: room.router,
              producerId: track.producer.id,
              rtpCapabilities: recorderCapabilities(room.router),
              appData: { hls: true },
            }),
          );
      }
      const sdpFile = path.join(dir, 'input.sdp');
      await writeFile(
        sdpFile,
        sdpSession(
          'telemed-sfu hls',
          feeds.map((f) => f.sdpStream),
        ),
      );
      const ffmpeg = new FfmpegRecorder(DEFAULT_FFMPEG.ffmpeg, hlsArgs(sdpFile, dir, !!audio, options.keepAll ?? false));
      stream = new HlsStream(ffmpeg, feeds, log);
      for (const f of feeds) {
        if (!(await f.waitForListener(ffmpeg, BIND_TIMEOUT_MS))) {
          const why = ffmpeg.running ? 'no listening socket after waiting' : (await ffmpeg.exited).stderrTail || 'it exited';
          throw new Error(`the HLS encoder did not start: ${why}`);
        }
      }
      for (const f of feeds) await f.start();
      // A death while connecting emitted 'ended' before anyone could listen: report it as a failure.
      if (!ffmpeg.running)
        throw new Error(`the HLS encoder stopped while starting: ${(await ffmpeg.exited).stderrTail || 'no reason given'}`);
      log.info({ pid: ffmpeg.pid }, 'HLS output started'); // not the folder: its name is the stream's access key
      return stream;
    } catch (error) {
      if (stream) await stream.#shutdown(500);
      else for (const f of feeds) f.close();
      log.warn({ err: error }, 'HLS output could not start');
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    await this.#shutdown(2000);
    this.#log.info('HLS output stopped');
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    for (const f of this.#feeds) f.stopKeyFrames();
    // An RTCP BYE ends FFmpeg's input at once even if the presenter's packets already stopped.
    const video = this.#feeds[0];
    const ssrc = video?.ssrc ?? null;
    await this.#ffmpeg.stop({ graceMs, ...(video && ssrc !== null ? { bye: { port: video.ports.rtpPort, ssrc } } : {}) });
    for (const f of this.#feeds) f.close();
  }
}

function hlsArgs(sdpFile: string, dir: string, withAudio: boolean, keepAll: boolean): string[] {
  return [
    ...LOOPBACK_RTP_INPUT,
    '-analyzeduration',
    '3000000',
    '-probesize',
    '3000000',
    '-fflags',
    '+genpts',
    '-i',
    sdpFile,
    '-map',
    '0:v:0',
    ...(withAudio ? ['-map', '0:a:0'] : []),
    // A steady 30 fps out, whatever FFmpeg guessed of the input's rate: from a few RTP frames it
    // sometimes guesses the clock rate (90,000 fps), then duplicates frames by the thousand, falls
    // behind and writes no segment at all.
    '-r',
    String(HLS_FRAME_RATE),
    // H.264 + AAC is what every HLS player decodes; a key frame per segment, so each one starts with one.
    ...liveH264Args({ keyFrameSeconds: HLS_SEGMENT_SECONDS, bitrate: '1200k', maxrate: '1500k', bufsize: '3000k' }),
    ...(withAudio ? ['-c:a', 'aac', '-b:a', '96k', '-ar', '48000'] : []),
    '-f',
    'hls',
    '-hls_time',
    String(HLS_SEGMENT_SECONDS),
    // The end is written by whoever keeps the replay (ReplayArchive), not by an FFmpeg that may be killed.
    ...(keepAll
      ? ['-hls_playlist_type', 'event', '-hls_list_size', '0', '-hls_flags', 'independent_segments+omit_endlist']
      : ['-hls_list_size', '10', '-hls_flags', 'delete_segments+independent_segments+omit_endlist']),
    '-hls_segment_filename',
    path.join(dir, 'segment_%05d.ts'),
    path.join(dir, 'index.m3u8'),
  ];
}
