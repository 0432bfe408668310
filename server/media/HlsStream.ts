/**
 * One room's presenters as HLS: a PlainTransport consumer per track (the first presenter video and
 * audio) feeds one FFmpeg, which transcodes only what HLS players need (VP8 → H.264, Opus → AAC)
 * into short segments and a live playlist.
 */
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { types } from 'mediasoup';
import { wrongState } from '../../signaling/protocol/index.js';
import { DEFAULT_FFMPEG, FfmpegRecorder } from '../../recordings/ffmpeg.js';
import { reservePortPair, waitForUdpBound, type PortPair } from '../../recordings/ports.js';
import type { Logger } from '../logger.js';
import type { Room } from '../rooms/Room.js';
import { sdpSession, type SdpStream } from '../../recordings/sdp.js';

interface Feed {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  ports: PortPair;
}

interface HlsEvents {
  /** FFmpeg stopped on its own (the presenter left, or it failed). */
  ended: [];
}

export class HlsStream extends EventEmitter<HlsEvents> {
  readonly #ffmpeg: FfmpegRecorder;
  readonly #feeds: Feed[];
  readonly #log: Logger;
  #stopping = false;

  private constructor(ffmpeg: FfmpegRecorder, feeds: Feed[], log: Logger) {
    super();
    this.#ffmpeg = ffmpeg;
    this.#feeds = feeds;
    this.#log = log;
    ffmpeg.once('exit', (exit) => {
      if (this.#stopping) return;
      log.warn({ code: exit.code, stderr: exit.stderrTail }, 'HLS encoder stopped');
      this.emit('ended');
    });
  }

  static async start(room: Room, dir: string, log: Logger): Promise<HlsStream> {
    const presenters = room.participants().filter((p) => p.publishesByRole);
    const video = presenters.flatMap((p) => [...p.producersOf('camera'), ...p.producersOf('screen')])[0];
    const audio = presenters.flatMap((p) => p.producersOf('microphone'))[0];
    if (!video) throw wrongState('no presenter is publishing video yet');
    await mkdir(dir, { recursive: true });
    const feeds: Feed[] = [];
    try {
      for (const track of [video, audio]) if (track) feeds.push(await feed(room.router, track.producer.id));
      const streams: SdpStream[] = feeds.map((f) => ({ kind: f.consumer.kind, codec: f.consumer.rtpParameters.codecs[0]!, rtpPort: f.ports.rtpPort, rtcpPort: f.ports.rtcpPort }));
      const sdpFile = path.join(dir, 'input.sdp');
      await writeFile(sdpFile, sdpSession('telemed-sfu hls', streams));
      const ffmpeg = new FfmpegRecorder(DEFAULT_FFMPEG.ffmpeg, hlsArgs(sdpFile, dir, !!audio));
      for (const f of feeds) {
        await waitForUdpBound(f.ports.rtpPort, { timeoutMs: 5000, giveUp: () => !ffmpeg.running });
        await f.transport.connect({ ip: '127.0.0.1', port: f.ports.rtpPort, rtcpPort: f.ports.rtcpPort });
        await f.consumer.resume();
      }
      const stream = new HlsStream(ffmpeg, feeds, log);
      stream.#askForKeyFrames();
      log.info({ dir }, 'HLS output started');
      return stream;
    } catch (error) {
      for (const f of feeds) closeFeed(f);
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // An RTCP BYE ends FFmpeg's input at once even if the presenter's packets already stopped.
    const video = this.#feeds[0];
    const ssrc = video?.consumer.rtpParameters.encodings?.[0]?.ssrc;
    await this.#ffmpeg.stop({ graceMs: 2000, ...(video && ssrc !== undefined ? { bye: { port: video.ports.rtpPort, ssrc } } : {}) });
    for (const f of this.#feeds) closeFeed(f);
    this.#log.info('HLS output stopped');
  }

  /** The encoder starts at a key frame; ask a few times, the first request may beat FFmpeg's probe. */
  #askForKeyFrames(): void {
    for (const delay of [0, 500, 1500, 3000]) {
      setTimeout(() => {
        for (const f of this.#feeds) if (f.consumer.kind === 'video' && !f.consumer.closed) void f.consumer.requestKeyFrame().catch(() => undefined);
      }, delay).unref();
    }
  }
}

async function feed(router: types.Router, producerId: string): Promise<Feed> {
  const ports = await reservePortPair();
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
  try {
    const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities, paused: true });
    return { transport, consumer, ports };
  } catch (error) {
    transport.close();
    ports.release();
    throw error;
  }
}

function closeFeed(f: Feed): void {
  f.transport.close();
  f.ports.release();
}

function hlsArgs(sdpFile: string, dir: string, withAudio: boolean): string[] {
  return [
    '-hide_banner', '-nostats', '-loglevel', 'warning',
    '-protocol_whitelist', 'file,udp,rtp',
    '-localaddr', '127.0.0.1',
    '-analyzeduration', '3000000', '-probesize', '3000000',
    '-fflags', '+genpts',
    '-i', sdpFile,
    '-map', '0:v:0', ...(withAudio ? ['-map', '0:a:0'] : []),
    // H.264 + AAC is what every HLS player decodes; a key frame every 2 s matches the segment length.
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-force_key_frames', 'expr:gte(t,n_forced*2)', '-b:v', '1200k', '-maxrate', '1500k', '-bufsize', '3000k',
    ...(withAudio ? ['-c:a', 'aac', '-b:a', '96k', '-ar', '48000'] : []),
    '-f', 'hls', '-hls_time', '2', '-hls_list_size', '10',
    '-hls_flags', 'delete_segments+independent_segments+omit_endlist',
    '-hls_segment_filename', path.join(dir, 'segment_%05d.ts'),
    path.join(dir, 'index.m3u8'),
  ];
}
