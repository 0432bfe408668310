/**
 * FFmpeg as a recorder: it reads one RTP stream described by an SDP file from a loopback port and
 * writes it to a file without transcoding (`-c copy`: no CPU spent on media, no quality lost, the
 * file holds exactly what the participant sent). Also ffprobe (durations) and remuxing (repairing
 * files left behind by a crash).
 */
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { types } from 'mediasoup';
import { sdpSession } from './sdp.js';

export interface FfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
}

export const DEFAULT_FFMPEG: FfmpegPaths = {
  ffmpeg: process.env['FFMPEG_PATH'] ?? 'ffmpeg',
  ffprobe: process.env['FFPROBE_PATH'] ?? 'ffprobe',
};

export interface Container {
  extension: '.ogg' | '.webm' | '.mkv';
  /** MIME type of the file, as given to the case record. */
  contentType: string;
  /** Matroska-family files get small clusters so a crash loses at most ~1 s. */
  matroska: boolean;
}

/** The file format for each codec the routers offer; anything else is refused rather than guessed. */
export function containerFor(kind: types.MediaKind, mimeType: string): Container {
  switch (mimeType.toLowerCase()) {
    case 'audio/opus':
      return { extension: '.ogg', contentType: 'audio/ogg', matroska: false };
    case 'video/vp8':
    case 'video/vp9':
      return { extension: '.webm', contentType: kind === 'audio' ? 'audio/webm' : 'video/webm', matroska: true };
    case 'video/h264':
      return { extension: '.mkv', contentType: 'video/x-matroska', matroska: true };
    default:
      throw new Error(`recording ${mimeType} is not supported`);
  }
}

/** The SDP that tells FFmpeg which port to listen on and how to depacketize what arrives there. */
export function buildSdp(kind: types.MediaKind, codec: types.RtpCodecParameters, rtpPort: number, rtcpPort: number): string {
  return sdpSession('telemed-sfu recording', [{ kind, codec, rtpPort, rtcpPort }]);
}

/**
 * How every FFmpeg of ours starts: quiet, reading only the SDP file and RTP, and listening on
 * loopback only (`-localaddr`), whatever the SDP says.
 */
export const LOOPBACK_RTP_INPUT: readonly string[] = [
  '-hide_banner',
  '-nostats',
  '-loglevel',
  'warning',
  '-protocol_whitelist',
  'file,udp,rtp',
  '-localaddr',
  '127.0.0.1',
];

/** Arguments for one recorder. */
export function recorderArgs(sdpFile: string, outFile: string, container: Container): string[] {
  return [
    ...LOOPBACK_RTP_INPUT,
    // FFmpeg holds packets in memory (no file yet) until it knows the stream: wait up to 5 s for a
    // key frame (requested as soon as the consumer resumes), but do not also measure the frame rate
    // (-fpsprobesize 0), which cost ~1.5 s of media that a crash would lose. +genpts fills the few
    // timestamps RTP input may lack.
    '-analyzeduration',
    '5000000',
    '-probesize',
    '5000000',
    '-fpsprobesize',
    '0',
    '-fflags',
    '+genpts',
    '-reorder_queue_size',
    '100',
    '-i',
    sdpFile,
    '-map',
    '0',
    '-c',
    'copy',
    ...(container.matroska ? ['-cluster_time_limit', '1000', '-cluster_size_limit', '1000000'] : ['-page_duration', '500000']),
    '-flush_packets',
    '1',
    '-n', // never overwrite: each track gets a new file name
    outFile,
  ];
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (a graceful end), false when it died on its own. */
  requested: boolean;
  /** The last lines FFmpeg wrote to stderr: the reason, when it failed. */
  stderrTail: string;
}

interface RecorderEvents {
  exit: [exit: RecorderExit];
}

/** One FFmpeg recorder process; never throws on its own death, it reports it as `exit`. */
export class FfmpegRecorder extends EventEmitter<RecorderEvents> {
  readonly #child: ChildProcessByStdio<Writable, null, Readable>;
  readonly exited: Promise<RecorderExit>;
  #stderr = '';
  #stopRequested = false;
  #exit: RecorderExit | undefined;

  constructor(ffmpegPath: string, args: string[]) {
    super();
    this.#child = spawn(ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    // Writing 'q' to a process that just died raises EPIPE on stdin: expected, not an error.
    this.#child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#exit) return;
        this.#exit = { code, signal, requested: this.#stopRequested, stderrTail: this.#stderr.trim().split('\n').slice(-8).join('\n') };
        resolve(this.#exit);
        this.emit('exit', this.#exit);
      };
      this.#child.once('error', (err) => {
        this.#stderr += `\n${err.message}`;
        finish(null, null);
      });
      this.#child.once('close', finish);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Ends the file cleanly, so FFmpeg writes the container's trailer (duration, index):
   * - an RTCP BYE for the stream's SSRC makes FFmpeg's RTP input end (EOF) even when no packet has
   *   arrived for a while (a paused or closed producer), which 'q' and one SIGINT cannot do while
   *   FFmpeg waits in its socket read;
   * - 'q' on stdin as well, for a process reading media normally;
   * - SIGINT after `graceMs`, SIGKILL after twice that, as last resorts (the file may lack its trailer).
   * Resolves when the process is gone.
   */
  async stop(options: { graceMs?: number; bye?: { port: number; ssrc: number } } = {}): Promise<RecorderExit> {
    if (this.#exit) return this.#exit;
    const graceMs = options.graceMs ?? 3000;
    this.#stopRequested = true;
    if (options.bye) sendRtcpBye(options.bye.port, options.bye.ssrc);
    this.#child.stdin.end('q');
    const timers = [
      setTimeout(() => {
        if (options.bye) sendRtcpBye(options.bye.port, options.bye.ssrc); // in case the first was lost
        this.#child.kill('SIGINT');
      }, graceMs),
      setTimeout(() => this.#child.kill('SIGKILL'), graceMs * 2),
    ];
    try {
      return await this.exited;
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  }
}

/**
 * Sends an RTCP BYE (RFC 3550 §6.6) for `ssrc` to a local RTP receiver: "this stream has ended".
 * As a compound packet (an empty receiver report, then the BYE), as the RFC requires; FFmpeg also
 * ignores anything shorter than an RTP header (12 bytes).
 */
export function sendRtcpBye(port: number, ssrc: number): void {
  const packet = Buffer.alloc(16);
  packet.writeUInt8(0x80, 0); // RR: version 2, no report blocks
  packet.writeUInt8(201, 1);
  packet.writeUInt16BE(1, 2); // length in 32-bit words, minus one
  packet.writeUInt32BE(0x7e1e3ed0, 4); // our own (arbitrary) SSRC as the reporter
  packet.writeUInt8(0x81, 8); // BYE: version 2, one SSRC
  packet.writeUInt8(203, 9);
  packet.writeUInt16BE(1, 10);
  packet.writeUInt32BE(ssrc >>> 0, 12);
  const socket = dgram.createSocket('udp4');
  let open = true;
  const close = (): void => {
    if (open) socket.close();
    open = false;
  };
  socket.on('error', close);
  socket.send(packet, port, '127.0.0.1', close);
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The container's duration in seconds as ffprobe reads it, or null if it cannot tell. */
export async function probeDuration(file: string, ffprobePath = DEFAULT_FFMPEG.ffprobe): Promise<number | null> {
  const out = await run(ffprobePath, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', file], 20_000);
  if (!out.ok) return null;
  try {
    const parsed = JSON.parse(out.stdout) as { format?: { duration?: string } };
    const seconds = Number(parsed.format?.duration);
    return Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Copies the streams of a possibly truncated file into a new, well-formed one (headers, index and
 * duration rewritten). The input is never modified. Returns FFmpeg's complaint on failure.
 */
export async function remux(input: string, output: string, ffmpegPath = DEFAULT_FFMPEG.ffmpeg): Promise<{ ok: boolean; error: string }> {
  const out = await run(
    ffmpegPath,
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-fflags',
      '+genpts+discardcorrupt',
      '-err_detect',
      'ignore_err',
      '-i',
      input,
      '-map',
      '0',
      '-c',
      'copy',
      '-n',
      output,
    ],
    120_000,
  );
  return { ok: out.ok, error: out.stderr.trim().split('\n').slice(-4).join('\n') };
}
