/**
 * The two FFmpeg processes of an RTMP ingest, and the look at the stream that decides between them:
 *
 * - the listener (`-listen 1`) takes the encoder's RTMP connection and passes the media on unchanged
 *   as FLV on its stdout. FFmpeg only *warns* when the stream key (or app) is not the one in its URL
 *   (`WRONG_KEY` below): the relay kills it on that warning, before any media is passed on;
 * - the relay reads that FLV and sends RTP to the room's PlainTransports: Opus from the AAC (always
 *   transcoded: WebRTC has no AAC), and H.264 passed through when the encoder's profile cannot carry
 *   B-frames (Baseline: WebRTC decoders do not reorder frames), re-encoded as constrained baseline
 *   otherwise. Its RTP goes through an RtpSplice per track (RtpSplice.ts) on its way to mediasoup.
 *
 * Between the two, the FLV's AVC sequence header says which profile the encoder sends.
 */
import { liveH264Args } from '../media/x264.js';

export type VideoMode = 'copy' | 'transcode';

export interface RtpTarget {
  ssrc: number;
  payloadType: number;
  /** Where FFmpeg sends RTP and RTCP: the track's RtpSplice, which passes it on to mediasoup. */
  port: number;
  rtcpPort: number;
}

/** Key frames at least this often when we encode: a viewer joining waits at most this long for a picture. */
export const TRANSCODE_KEYFRAME_SECONDS = 2;

/** What FFmpeg's RTMP listener writes when the encoder's app or stream key is not the expected one. */
export const WRONG_KEY = /Unexpected stream|App field don't match/;

export function listenerArgs(url: string, key: string): string[] {
  return [
    '-hide_banner',
    '-nostats',
    '-nostdin',
    '-loglevel',
    'warning', // the wrong-key warnings
    '-rtmp_live',
    'live',
    '-listen',
    '1',
    '-i',
    `${url}/${key}`,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'flv',
    'pipe:1',
  ];
}

function rtpUrl(target: RtpTarget): string {
  // FFmpeg picks its source ports (RTCP from the one above RTP's): the splice tells relays apart by them.
  return `rtp://127.0.0.1:${target.port}?rtcpport=${target.rtcpPort}&pkt_size=1200`;
}

export function relayArgs(mode: VideoMode, video: RtpTarget, audio: RtpTarget): string[] {
  const videoCodec =
    mode === 'copy'
      ? // In-band SPS/PPS before every key frame: a WebRTC decoder never sees the FLV's header.
        ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb']
      : liveH264Args({ keyFrameSeconds: TRANSCODE_KEYFRAME_SECONDS, bitrate: '2500k', maxrate: '3000k', bufsize: '3000k', baseline: true });
  return [
    '-hide_banner',
    '-nostats',
    '-nostdin',
    '-loglevel',
    'error',
    '-protocol_whitelist',
    'pipe,udp,rtp',
    '-f',
    'flv',
    '-i',
    'pipe:0',
    '-map',
    '0:v:0?',
    ...videoCodec,
    '-f',
    'rtp',
    '-ssrc',
    String(video.ssrc | 0),
    '-payload_type',
    String(video.payloadType),
    rtpUrl(video),
    '-map',
    '0:a:0?',
    '-c:a',
    'libopus',
    '-application',
    'lowdelay',
    '-ar',
    '48000',
    '-ac',
    '2',
    '-b:a',
    '96k',
    '-f',
    'rtp',
    '-ssrc',
    String(audio.ssrc | 0),
    '-payload_type',
    String(audio.payloadType),
    rtpUrl(audio),
  ];
}

/** What the start of an FLV stream says about its video. */
export type FlvVideo = { codec: 'h264'; profileIdc: number } | { codec: 'other'; codecId: number };

/**
 * Reads FLV tags from the start of `data` until the first video tag. Returns undefined while more
 * bytes are needed, the H.264 profile (AVC sequence header) or the codec id of another codec.
 */
export function sniffFlvVideo(data: Buffer): FlvVideo | undefined {
  if (data.length < 13) return undefined;
  if (data.toString('latin1', 0, 3) !== 'FLV') return { codec: 'other', codecId: -1 };
  let offset = data.readUInt32BE(5) + 4; // header, then PreviousTagSize0
  while (offset + 11 <= data.length) {
    const type = data[offset]! & 0x1f;
    const size = data.readUIntBE(offset + 1, 3);
    const body = offset + 11;
    if (type === 9) {
      if (body + 9 > data.length) return undefined;
      const first = data[body]!;
      // Enhanced RTMP (HEVC, AV1...) sets the top bit; classic FLV names the codec in the low nibble.
      if (first & 0x80 || (first & 0x0f) !== 7) return { codec: 'other', codecId: first & 0x0f };
      if (data[body + 1] === 0) return { codec: 'h264', profileIdc: data[body + 6]! }; // AVCDecoderConfigurationRecord
    }
    offset = body + size + 4;
  }
  return undefined;
}

/** Baseline (66) cannot carry B-frames: pass it through. Main, High... may: re-encode. */
export const videoModeFor = (profileIdc: number): VideoMode => (profileIdc === 66 ? 'copy' : 'transcode');
