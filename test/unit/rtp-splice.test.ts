/**
 * The RTMP relay's splice (RtpTimeline): a replaced relay FFmpeg — a new source port, a new random
 * sequence number and timestamp base — continues the stream where the last one ended; its sender
 * reports follow the same shift; its BYE and anyone else's RTCP are dropped.
 */
import { describe, expect, it } from 'vitest';
import { RtpTimeline } from '../../server/ingest/RtpSplice.js';

const SSRC = 0x1234_5678;

function rtp(seq: number, ts: number, payload = 100): Buffer {
  const packet = Buffer.alloc(12 + payload);
  packet[0] = 0x80;
  packet[1] = 102;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(ts, 4);
  packet.writeUInt32BE(SSRC, 8);
  return packet;
}

const seqTs = (packet: Buffer) => [packet.readUInt16BE(2), packet.readUInt32BE(4)];

/** An RTCP sender report (no report blocks) with RTP timestamp `ts`. */
function senderReport(ts: number): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(SSRC, 4);
  sr.writeUInt32BE(0xe000_0000, 8); // NTP seconds
  sr.writeUInt32BE(ts, 16);
  sr.writeUInt32BE(999, 20); // FFmpeg's own counts
  sr.writeUInt32BE(99_999, 24);
  return sr;
}

function bye(): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x81;
  b[1] = 203;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(SSRC, 4);
  return b;
}

function clock() {
  const c = { ms: 0, now: () => c.ms };
  return c;
}

describe('RtpTimeline', () => {
  it('passes the first sender through unchanged', () => {
    const timeline = new RtpTimeline(90_000);
    const packet = rtp(4000, 1_000_000);
    expect(timeline.rtp(packet, 50_000)).toBe(true);
    expect(seqTs(packet)).toEqual([4000, 1_000_000]);
    expect(timeline.splices).toBe(0);
  });

  it('splices a new sender on: the next sequence number, the timestamp moved on by the gap', () => {
    const c = clock();
    const timeline = new RtpTimeline(90_000, c.now);
    for (let i = 0; i < 3; i++) timeline.rtp(rtp((65_534 + i) % 65_536, 4_294_960_000 + 3000 * i), 50_000); // wraps to 0
    c.ms += 2500; // the encoder was away for 2.5 s
    const first = rtp(123, 77);
    timeline.rtp(first, 50_010);
    const lastTs = (4_294_960_000 + 6000) % 2 ** 32;
    expect(seqTs(first)).toEqual([1, (lastTs + 225_000) % 2 ** 32]);
    const next = rtp(124, 77 + 3000);
    timeline.rtp(next, 50_010);
    expect(seqTs(next)).toEqual([2, (lastTs + 228_000) % 2 ** 32]);
    expect(timeline.splices).toBe(1);
  });

  it('splices on after the highest sequence number sent, not after a late packet', () => {
    const c = clock();
    const timeline = new RtpTimeline(48_000, c.now);
    timeline.rtp(rtp(10, 960), 50_000);
    timeline.rtp(rtp(12, 2880), 50_000);
    timeline.rtp(rtp(11, 1920), 50_000); // late
    c.ms += 1000;
    const next = rtp(30_000, 5);
    timeline.rtp(next, 50_100);
    expect(seqTs(next)).toEqual([13, 2880 + 48_000]);
  });

  it("rewrites the current sender's reports with the shift and its own counts, and drops the BYE", () => {
    const c = clock();
    const timeline = new RtpTimeline(90_000, c.now);
    timeline.rtp(rtp(100, 9000), 50_000);
    c.ms += 1000;
    timeline.rtp(rtp(7, 500), 50_020);
    const out = timeline.rtcp(Buffer.concat([senderReport(500), bye()]), 50_021);
    expect(out).not.toBeNull();
    expect(out!.length).toBe(28); // the BYE is gone
    expect(out!.readUInt32BE(16)).toBe(9000 + 90_000);
    expect([out!.readUInt32BE(20), out!.readUInt32BE(24)]).toEqual([2, 200]);
    expect(timeline.rtcp(bye(), 50_021)).toBeNull();
  });

  it('drops RTCP from anyone but the current sender, and anything malformed', () => {
    const timeline = new RtpTimeline(90_000);
    expect(timeline.rtcp(senderReport(1), 50_001)).toBeNull(); // nobody spliced on yet
    timeline.rtp(rtp(1, 1), 50_000);
    expect(timeline.rtcp(senderReport(1), 50_011)).toBeNull(); // a replaced relay's late report
    expect(timeline.rtcp(senderReport(1).subarray(0, 20), 50_001)).toBeNull(); // cut short
    expect(timeline.rtp(Buffer.from([0x40, 0, 0, 1]), 50_000)).toBe(false);
    expect(timeline.rtp(Buffer.alloc(12), 50_000)).toBe(false); // version 0
  });
});
