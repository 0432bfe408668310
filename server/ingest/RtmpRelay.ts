/**
 * An RTMP ingest: FFmpeg listens for the encoder on its own port (INGEST_RTMP_HOST, a port from
 * INGEST_RTMP_PORTS, the stream key in the URL), and a second FFmpeg sends its media as RTP into two
 * PlainTransports on the room's origin router, whose producers the ingest's presenter publishes like
 * any presenter (rtmpFfmpeg.ts says which FFmpeg does what).
 *
 * The producers belong to the programme, not to one connection: FFmpeg sends with fixed SSRCs through
 * an RtpSplice per track (RtpSplice.ts), so when the encoder drops and comes back within the grace
 * period the new FFmpeg's stream continues the old one for mediasoup — same peer, next sequence
 * number, timestamps that go on — and the same producers carry on: viewers see a short freeze, never
 * the presenter leaving. FFmpeg could not act on key-frame requests (RTCP PLI): in copy mode the
 * encoder's own key-frame interval rules (1-2 s is advised), when we transcode we force one every
 * TRANSCODE_KEYFRAME_SECONDS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { types } from 'mediasoup';
import { ProtocolError } from '../../signaling/protocol/index.js';
import type { PortRange } from '../../recordings/ports.js';
import type { Logger } from '../logger.js';
import type { ProducerAppData } from '../rooms/Room.js';
import type { Ingest, IngestMedia, OnStage } from './Ingest.js';
import { listenerArgs, relayArgs, sniffFlvVideo, videoModeFor, WRONG_KEY, type RtpTarget, type VideoMode } from './rtmpFfmpeg.js';
import { RtpSplice } from './RtpSplice.js';

export interface RtmpOptions {
  host: string;
  portRange: PortRange;
  ffmpegPath: string;
}

/** Most bytes read from the listener before its first video tag: an encoder sending no video is refused. */
const SNIFF_LIMIT = 2 * 1024 * 1024;
/** A listener that dies at once (port taken, FFmpeg missing) is restarted no faster than this. */
const RESTART_DELAY_MS = 1000;
/** How long after the first media the key check's verdict is awaited (it is written before any media). */
const KEY_CHECK_MS = 100;

const VIDEO_CODEC: types.RtpCodecParameters = {
  mimeType: 'video/H264',
  payloadType: 102,
  clockRate: 90000,
  parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  rtcpFeedback: [{ type: 'nack', parameter: 'pli' }],
};
const AUDIO_CODEC: types.RtpCodecParameters = {
  mimeType: 'audio/opus',
  payloadType: 100,
  clockRate: 48000,
  channels: 2,
  parameters: { 'sprop-stereo': 1 },
};

/** Listening ports handed out in this process (a port is only bound once FFmpeg starts). */
const listening = new Set<number>();

interface Track {
  transport: types.PlainTransport;
  splice: RtpSplice;
  target: RtpTarget;
}

export class RtmpRelay implements IngestMedia {
  readonly url: string;
  readonly #ingest: Ingest;
  readonly #key: string;
  readonly #options: RtmpOptions;
  readonly #log: Logger;
  readonly #port: number;
  readonly #ssrcs = { video: randomInt(1, 2 ** 31), audio: randomInt(1, 2 ** 31) };
  #listener: ChildProcess | undefined;
  #relay: ChildProcess | undefined;
  #tracks: { video: Track; audio: Track } | undefined;
  #mode: VideoMode | null = null;
  #stopped = false;

  private constructor(ingest: Ingest, key: string, port: number, options: RtmpOptions, log: Logger) {
    this.#ingest = ingest;
    this.#key = key;
    this.#port = port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.url = `rtmp://${host}:${port}/live`;
    this.#options = options;
    this.#log = log.child({ ingest: ingest.id, rtmp: this.url });
  }

  /** Reserves a listening port and starts listening for the encoder. */
  static async start(ingest: Ingest, key: string, options: RtmpOptions, log: Logger): Promise<RtmpRelay> {
    const port = await freeTcpPort(options.host, options.portRange);
    const relay = new RtmpRelay(ingest, key, port, options, log);
    ingest.once('closed', () => relay.#stop());
    relay.#listen();
    return relay;
  }

  get videoMode(): VideoMode | null {
    return this.#mode;
  }

  /** FFmpeg processes running for this ingest now (for the CPU benchmark). */
  pids(): number[] {
    return [this.#listener?.pid, this.#relay?.pid].filter((p): p is number => p !== undefined);
  }

  /** The programme ended (grace passed, revoked, removed): its producers go; the listener stays while the ingest does. */
  endProgramme(): void {
    this.#relay?.kill('SIGKILL');
    const tracks = this.#tracks;
    this.#tracks = undefined;
    for (const track of tracks ? [tracks.video, tracks.audio] : []) {
      track.transport.close();
      track.splice.close();
    }
  }

  #stop(): void {
    this.#stopped = true;
    this.endProgramme();
    this.#listener?.kill('SIGKILL');
    listening.delete(this.#port);
  }

  #listen(): void {
    if (this.#stopped) return;
    const startedAt = Date.now();
    const listener = spawn(this.#options.ffmpegPath, listenerArgs(this.url, this.#key), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#listener = listener;
    let stderr = '';
    let refused = false;
    listener.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
      if (refused || !WRONG_KEY.test(stderr)) return;
      refused = true;
      this.#log.warn('RTMP encoder refused: wrong stream key');
      listener.kill('SIGKILL');
    });
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const video = sniffFlvVideo(head);
      if (!video && head.length < SNIFF_LIMIT) return;
      listener.stdout!.off('data', sniff);
      listener.stdout!.pause();
      if (video?.codec !== 'h264') {
        this.#log.warn({ codec: video }, 'RTMP encoder refused: its video must be H.264');
        listener.kill('SIGKILL');
        return;
      }
      // stderr and stdout are read separately: give the key warning (written first) a moment to arrive.
      setTimeout(() => {
        if (!refused && listener.exitCode === null) void this.#relayFrom(listener, head, videoModeFor(video.profileIdc));
      }, KEY_CHECK_MS);
    };
    listener.stdout!.on('data', sniff);
    listener.once('error', (error) => this.#log.error({ err: error }, 'FFmpeg (RTMP listener) could not start'));
    listener.once('close', (code) => {
      this.#relay?.stdin?.end();
      if (this.#stopped) return;
      this.#log.info({ code, stderr: stderr.trim().split('\n').slice(-3).join(' | ') }, 'RTMP connection ended; listening again');
      this.#ingest.dropped('the RTMP encoder disconnected');
      setTimeout(() => this.#listen(), Math.max(0, RESTART_DELAY_MS - (Date.now() - startedAt))).unref();
    });
  }

  /** The encoder is streaming: the presenter's producers (made once per programme) get its media. */
  async #relayFrom(listener: ChildProcess, head: Buffer, mode: VideoMode): Promise<void> {
    try {
      const stage = await this.#ingest.onStage();
      this.#ingest.attach(this);
      this.#tracks ??= await this.#makeTracks(stage);
      this.#mode = mode;
      const relay = spawn(this.#options.ffmpegPath, relayArgs(mode, this.#tracks.video.target, this.#tracks.audio.target), {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      this.#relay = relay;
      let stderr = '';
      relay.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      relay.stdin!.on('error', () => undefined); // the listener's end closes it mid-write
      relay.once('close', (code) => {
        if (code && !this.#stopped) this.#log.warn({ code, stderr: stderr.trim() }, 'FFmpeg (RTMP relay) stopped');
        if (listener.exitCode === null) listener.kill('SIGKILL'); // no relay: drop the encoder, it will reconnect
      });
      relay.stdin!.write(head);
      listener.stdout!.pipe(relay.stdin!);
      listener.stdout!.resume();
      this.#log.info({ mode }, 'RTMP encoder streaming');
      this.#ingest.live();
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : String(error) }, 'RTMP programme could not start');
      listener.kill('SIGKILL');
    }
  }

  async #makeTracks({ room, participant }: OnStage): Promise<{ video: Track; audio: Track }> {
    const made: { transport?: types.PlainTransport; splice: RtpSplice }[] = [];
    const track = async (kind: 'video' | 'audio'): Promise<Track> => {
      const codec = kind === 'video' ? VIDEO_CODEC : AUDIO_CODEC;
      const splice = await RtpSplice.open(codec.clockRate, this.#log);
      const opened: (typeof made)[number] = { splice };
      made.push(opened);
      const transport = await room.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: false,
        comedia: false,
      });
      opened.transport = transport;
      const { rtpPort, rtcpPort } = splice.ports;
      await transport.connect({ ip: '127.0.0.1', port: rtpPort, rtcpPort });
      const ssrc = this.#ssrcs[kind];
      await room.media.publishFrom(participant, kind, kind === 'video' ? 'camera' : 'microphone', (appData: ProducerAppData) =>
        transport.produce<ProducerAppData>({
          kind,
          rtpParameters: { codecs: [codec], encodings: [{ ssrc }], rtcp: { cname: `rtmp-${this.#ingest.id}` } },
          appData,
          ...(kind === 'video' ? { keyFrameRequestDelay: room.options.keyFrameRequestDelayMs } : {}),
        }),
      );
      const transportRtcpPort = transport.rtcpTuple?.localPort;
      if (transportRtcpPort === undefined) throw new Error('the PlainTransport has no RTCP port');
      splice.deliverTo(transport.tuple.localPort, transportRtcpPort);
      return { transport, splice, target: { ssrc, payloadType: codec.payloadType, port: rtpPort, rtcpPort } };
    };
    try {
      return { video: await track('video'), audio: await track('audio') };
    } catch (error) {
      for (const { transport, splice } of made) {
        transport?.close();
        splice.close();
      }
      throw error;
    }
  }
}

/** A TCP port in `range` nobody listens on now (tried at random, like the recorders' UDP ports). */
async function freeTcpPort(host: string, range: PortRange, attempts = 32): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = randomInt(range.min, range.max + 1);
    if (listening.has(port)) continue;
    listening.add(port); // claimed before the await, so a concurrent caller skips it
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (free) return port;
    listening.delete(port);
  }
  throw new ProtocolError('UNAVAILABLE', `no free RTMP port in ${range.min}-${range.max} (INGEST_RTMP_PORTS); revoke unused ingests`);
}
