/**
 * A real media source for recording tests: FFmpeg renders a test pattern (VP8) and a tone (Opus) in
 * real time and sends them as RTP to mediasoup PlainTransports (comedia: the transport learns
 * FFmpeg's address from its first packet), which turn them into ordinary producers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { types } from 'mediasoup';

export interface MediaSource {
  video: types.Producer | undefined;
  audio: types.Producer | undefined;
  process: ChildProcess;
  stop(): void;
}

async function rtpInput(
  router: types.Router,
  kind: types.MediaKind,
  ssrc: number,
): Promise<{ transport: types.PlainTransport; producer: types.Producer }> {
  // rtcpMux off: FFmpeg sends RTCP from a second port, which a muxed comedia transport would reject.
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const codec: types.RtpCodecParameters =
    kind === 'video'
      ? {
          mimeType: 'video/VP8',
          payloadType: 101,
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
        }
      : { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };
  const producer = await transport.produce({ kind, rtpParameters: { codecs: [codec], encodings: [{ ssrc }] } });
  return { transport, producer };
}

/** Starts FFmpeg sending `seconds` (default: until stopped) of video and/or audio into the router. */
export async function startMediaSource(
  router: types.Router,
  want: { video?: boolean; audio?: boolean } = { video: true, audio: true },
): Promise<MediaSource> {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  const outputs: string[] = [];
  let video: types.Producer | undefined;
  let audio: types.Producer | undefined;
  let input = 0;
  if (want.video) {
    const { transport, producer } = await rtpInput(router, 'video', 11110000 + Math.floor(Math.random() * 1000));
    video = producer;
    args.push('-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15');
    // -g 5: a key frame every 1/3 s, since this sender ignores key-frame requests.
    outputs.push(
      '-map',
      `${input++}:v`,
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-b:v',
      '300k',
      '-g',
      '5',
      '-ssrc',
      String(producer.rtpParameters.encodings?.[0]?.ssrc),
      '-payload_type',
      '101',
      '-f',
      'rtp',
      `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort}&pkt_size=1200`,
    );
  }
  if (want.audio) {
    const { transport, producer } = await rtpInput(router, 'audio', 22220000 + Math.floor(Math.random() * 1000));
    audio = producer;
    args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
    outputs.push(
      '-map',
      `${input}:a`,
      '-c:a',
      'libopus',
      '-ac',
      '2',
      '-b:a',
      '48k',
      '-ssrc',
      String(producer.rtpParameters.encodings?.[0]?.ssrc),
      '-payload_type',
      '100',
      '-f',
      'rtp',
      `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort}&pkt_size=1200`,
    );
  }
  const child = spawn('ffmpeg', [...args, ...outputs], { stdio: 'ignore' });
  const source: MediaSource = { video, audio, process: child, stop: () => void child.kill('SIGKILL') };
  // Wait until mediasoup receives RTP for every producer (comedia has locked on), at most 5 s.
  const producers = [video, audio].filter((p): p is types.Producer => !!p);
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    const counts = await Promise.all(producers.map(async (p) => (await p.getStats()).reduce((n, s) => n + s.packetCount, 0)));
    if (counts.every((n) => n > 0)) return source;
    await new Promise((r) => setTimeout(r, 50));
  }
  source.stop();
  throw new Error('the FFmpeg test source did not reach mediasoup within 5 s');
}
