/**
 * The RTMP ingest's decisions, without FFmpeg: which profile an FLV stream's AVC header names (and so
 * pass-through or re-encoding), and the relay's RTP outputs (fixed SSRCs, sent to the tracks' splices).
 */
import { describe, expect, it } from 'vitest';
import { relayArgs, sniffFlvVideo, videoModeFor, WRONG_KEY } from '../../server/ingest/rtmpFfmpeg.js';

/** An FLV header, a script tag, then a video tag whose first bytes are `video`. */
function flv(video: number[]): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
  const tag = (type: number, body: number[]) => {
    const head = Buffer.alloc(11);
    head[0] = type;
    head.writeUIntBE(body.length, 1, 3);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(11 + body.length);
    return Buffer.concat([head, Buffer.from(body), size]);
  };
  return Buffer.concat([header, tag(18, [2, 0, 10, ...Buffer.from('onMetaData')]), tag(9, video)]);
}

describe('RTMP ingest decisions', () => {
  it('reads the H.264 profile from the AVC sequence header: Baseline is passed through, High re-encoded', () => {
    const baseline = flv([0x17, 0, 0, 0, 0, 1, 66, 0xc0, 30]);
    const high = flv([0x17, 0, 0, 0, 0, 1, 100, 0, 31]);
    expect(sniffFlvVideo(baseline)).toEqual({ codec: 'h264', profileIdc: 66 });
    expect(sniffFlvVideo(high)).toEqual({ codec: 'h264', profileIdc: 100 });
    expect(videoModeFor(66)).toBe('copy');
    expect(videoModeFor(100)).toBe('transcode');
    expect(sniffFlvVideo(baseline.subarray(0, baseline.length - 8))).toBeUndefined(); // needs more bytes
  });

  it('names another codec (or no FLV at all) so the encoder can be refused', () => {
    expect(sniffFlvVideo(flv([0x12, 0, 0, 0, 0, 0, 0, 0, 0]))).toEqual({ codec: 'other', codecId: 2 }); // Sorenson H.263
    expect(sniffFlvVideo(flv([0x90, 0x68, 0x76, 0x63, 0x31, 0, 0, 0, 0]))).toMatchObject({ codec: 'other' }); // enhanced RTMP (HEVC)
    expect(sniffFlvVideo(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ codec: 'other', codecId: -1 });
  });

  it('sends RTP with fixed SSRCs to the splices, passing through or re-encoding without B-frames', () => {
    const video = { ssrc: 1111, payloadType: 102, port: 40100, rtcpPort: 40101 };
    const audio = { ssrc: 2222, payloadType: 100, port: 40102, rtcpPort: 40103 };
    const copy = relayArgs('copy', video, audio).join(' ');
    expect(copy).toContain('-c:v copy -bsf:v h264_mp4toannexb');
    expect(copy).toContain('-ssrc 1111 -payload_type 102 rtp://127.0.0.1:40100?rtcpport=40101&pkt_size=1200');
    expect(copy).toContain('-c:a libopus');
    const transcode = relayArgs('transcode', video, audio).join(' ');
    expect(transcode).toContain('-profile:v baseline');
    expect(transcode).toContain('-bf 0');
  });

  it('knows FFmpeg listener warnings about a wrong stream key', () => {
    expect(WRONG_KEY.test('[rtmp @ 0x55f1] Unexpected stream wrongkey, expecting secretkey')).toBe(true);
    expect(WRONG_KEY.test('Input/output error')).toBe(false);
  });
});
