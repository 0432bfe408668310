/** The light viewer's pieces without a network: RTP bookkeeping, VP8 reassembly, STUN, SDP. */
import { describe, expect, it } from 'vitest';
import { bindingResponse } from '../../bench/lib/loopbackStun.js';
import { buildRecvOffer, dtlsFromAnswer } from '../../bench/lib/recvSdp.js';
import { inspectVp8Frame, parseVp8Descriptor, SequenceTracker, Vp8FrameAssembler } from '../../bench/lib/rtpReceive.js';

/** A VP8 key frame header (RFC 6386 §9.1) of width × height, padded to `size` bytes. */
function keyFrame(width: number, height: number, size = 30): Buffer {
  const frame = Buffer.alloc(size, 0x55);
  frame[0] = 0x10; // P = 0 (key frame), version 0, show_frame
  frame[1] = 0x02;
  frame[2] = 0x00;
  frame.set([0x9d, 0x01, 0x2a], 3);
  frame.writeUInt16LE(width, 6);
  frame.writeUInt16LE(height, 8);
  return frame;
}

/** RFC 7741 descriptor: X=1, S as given, PID 0, with a 15-bit picture id. */
function descriptor(start: boolean, pictureId: number): Buffer {
  return Buffer.from([0x80 | (start ? 0x10 : 0), 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff]);
}

function packetize(frame: Buffer, pieces: number, pictureId: number): Buffer[] {
  const size = Math.ceil(frame.length / pieces);
  return Array.from({ length: pieces }, (_, i) =>
    Buffer.concat([descriptor(i === 0, pictureId), frame.subarray(i * size, (i + 1) * size)]),
  );
}

describe('SequenceTracker', () => {
  it('counts loss across a wrap, ignores duplicates and accepts reordering', () => {
    const t = new SequenceTracker();
    for (const seq of [65533, 65534, 65535, 0, 0, 2, 1, 4]) t.push(seq);
    expect(t.expected).toBe(8); // 65533 .. 4
    expect(t.received).toBe(7); // 0 counted once; 3 missing
    expect(t.lost).toBe(1);
    expect(t.push(3)).toBeDefined(); // a late retransmission repairs the loss
    expect(t.lost).toBe(0);
    expect(t.push(3)).toBeUndefined();
  });

  it('moves its base back for a packet older than the first one', () => {
    const t = new SequenceTracker();
    t.push(100);
    t.push(99);
    t.push(101);
    expect([t.expected, t.lost]).toEqual([3, 0]);
  });
});

describe('VP8', () => {
  it('parses descriptors with picture id, TL0PICIDX and TID/KEYIDX', () => {
    expect(parseVp8Descriptor(Buffer.from([0x10, 0xaa]))).toEqual({ frameStart: true, headerLength: 1 });
    expect(parseVp8Descriptor(Buffer.from([0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0xaa]))).toEqual({ frameStart: true, headerLength: 6 });
    expect(parseVp8Descriptor(Buffer.from([0x91, 0x80, 0x12, 0xaa]))).toEqual({ frameStart: false, headerLength: 3 }); // partition 1
    expect(parseVp8Descriptor(Buffer.from([0x80]))).toBeUndefined();
  });

  it('reads key frame sizes and rejects a key frame without its start code', () => {
    expect(inspectVp8Frame(keyFrame(1280, 720), 0)).toMatchObject({ keyFrame: true, width: 1280, height: 720 });
    const bad = keyFrame(640, 480);
    bad[4] = 0x00;
    expect(inspectVp8Frame(bad, 0)).toBeUndefined();
    expect(inspectVp8Frame(Buffer.from([0x01, 0x00, 0x00, 0x11]), 0)).toMatchObject({ keyFrame: false });
  });

  it('reassembles frames from out-of-order packets and gives up on incomplete ones', () => {
    const a = new Vp8FrameAssembler();
    const [p0, p1, p2] = packetize(keyFrame(320, 180, 60), 3, 7) as [Buffer, Buffer, Buffer];
    expect(a.push(12, 9000, true, p2)).toBeUndefined();
    expect(a.push(10, 9000, false, p0)).toBeUndefined();
    expect(a.push(11, 9000, false, p1)).toMatchObject({ keyFrame: true, width: 320, height: 180 });
    expect(a.push(11, 9000, false, p1)).toBeUndefined(); // late duplicate of a finished frame
    expect([a.frames, a.keyFrames, a.decodableFrames, a.needsKeyFrame]).toEqual([1, 1, 1, false]);

    // A delta frame missing its middle packet is dropped once it is a second old: a key frame is needed.
    const delta = Buffer.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    const [d0, , d2] = packetize(delta, 3, 8) as [Buffer, Buffer, Buffer];
    a.push(13, 12000, false, d0);
    a.push(15, 12000, true, d2);
    const [n0] = packetize(delta, 1, 9) as [Buffer];
    expect(a.push(16, 12000 + 100_000, true, n0)).toMatchObject({ keyFrame: false });
    expect(a.incompleteFrames).toBe(1);
    expect(a.needsKeyFrame).toBe(true);
    expect([a.frames, a.decodableFrames]).toEqual([2, 1]);

    // Set aside, and counted: a reordered packet (older in sequence) of a frame over a second older
    // than the newest, and one whose descriptor is cut short.
    expect(a.ignoredPackets).toBe(0);
    const [late] = packetize(delta, 1, 10) as [Buffer];
    expect(a.push(5, 7000, true, late)).toBeUndefined();
    expect(a.push(17, 12000 + 100_010, true, Buffer.from([0x80]))).toBeUndefined();
    expect(a.ignoredPackets).toBe(2);

    // Timestamps that jump back (an SFU switching layers unaligned) but go on in sequence: frames still.
    const back = 12000 + 100_000 - 400_000_000;
    const [k0, k1] = packetize(keyFrame(640, 360, 40), 2, 11) as [Buffer, Buffer];
    expect(a.push(18, back, false, k0)).toBeUndefined();
    expect(a.push(19, back, true, k1)).toMatchObject({ keyFrame: true, width: 640 });
    const [next] = packetize(delta, 1, 12) as [Buffer];
    expect(a.push(20, back + 3000, true, next)).toMatchObject({ keyFrame: false });
    expect([a.frames, a.keyFrames, a.decodableFrames, a.ignoredPackets, a.needsKeyFrame]).toEqual([4, 2, 3, 2, false]);
  });
});

describe('loopback STUN responder', () => {
  it('answers a Binding request with the XOR-mapped sender address', () => {
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0);
    request.writeUInt32BE(0x2112a442, 4);
    request.fill(0x42, 8, 20);
    const response = bindingResponse(request, { address: '127.0.0.1', port: 50000, family: 'IPv4' })!;
    expect(response.readUInt16BE(0)).toBe(0x0101);
    expect(response.subarray(8, 20)).toEqual(request.subarray(8, 20));
    expect(response.readUInt16BE(26) ^ 0x2112).toBe(50000);
    expect((response.readUInt32BE(28) ^ 0x2112a442) >>> 0).toBe(0x7f000001);
    expect(bindingResponse(Buffer.alloc(20), { address: '127.0.0.1', port: 1, family: 'IPv4' })).toBeUndefined();
  });
});

describe('receive SDP', () => {
  const transport = {
    iceParameters: { usernameFragment: 'ufrag', password: 'pwd', iceLite: true },
    iceCandidates: [
      {
        foundation: 'udpcandidate',
        priority: 1076302079,
        address: '127.0.0.1',
        ip: '127.0.0.1',
        protocol: 'udp' as const,
        port: 40000,
        type: 'host' as const,
      },
      {
        foundation: 'tcpcandidate',
        priority: 1076276479,
        address: '127.0.0.1',
        ip: '127.0.0.1',
        protocol: 'tcp' as const,
        port: 40000,
        type: 'host' as const,
        tcpType: 'passive' as const,
      },
    ],
    dtlsParameters: { role: 'auto' as const, fingerprints: [{ algorithm: 'sha-256' as const, value: 'AB:CD' }] },
  };
  const video = {
    kind: 'video' as const,
    streamId: 'presenter',
    trackId: 'consumer-1',
    rtpParameters: {
      mid: '0',
      codecs: [
        {
          mimeType: 'video/VP8',
          payloadType: 101,
          clockRate: 90000,
          parameters: { 'x-google-start-bitrate': 1000 },
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        },
      ],
      headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' as const, id: 1 }],
      encodings: [{ ssrc: 1234 }],
      rtcp: { cname: 'cname-1', reducedSize: true },
    },
  };

  it('offers ICE-lite, BUNDLE, actpass and one send-only m-section per consumer; closed ones inactive', () => {
    const sdp = buildRecvOffer(
      transport,
      [
        { ...video, closed: false },
        { ...video, trackId: 'c2', rtpParameters: { ...video.rtpParameters, mid: '1' }, closed: true },
      ],
      { id: '1', version: 2, loopbackOnly: true },
    );
    expect(sdp).toContain('a=ice-lite\r\n');
    expect(sdp).toContain('a=group:BUNDLE 0 1\r\n');
    expect(sdp.match(/^a=setup:actpass$/gm)).toHaveLength(2);
    expect(sdp).toContain('a=candidate:tcpcandidate 1 tcp 1076276479 127.0.0.1 40000 typ host tcptype passive');
    expect(sdp).toContain(
      'a=rtpmap:101 VP8/90000\r\na=fmtp:101 x-google-start-bitrate=1000\r\na=rtcp-fb:101 nack\r\na=rtcp-fb:101 nack pli',
    );
    expect(sdp.match(/^a=sendonly$/gm)).toHaveLength(1);
    expect(sdp.match(/^a=inactive$/gm)).toHaveLength(1);
    expect(sdp.match(/^a=ssrc:1234 cname:cname-1$/gm)).toHaveLength(1); // only the open consumer's
  });

  it('refuses a candidate off loopback', () => {
    const remote = { ...transport, iceCandidates: [{ ...transport.iceCandidates[0]!, address: '203.0.113.5', ip: '203.0.113.5' }] };
    expect(() => buildRecvOffer(remote, [{ ...video, closed: false }], { id: '1', version: 1, loopbackOnly: true })).toThrow(
      /non-loopback/,
    );
  });

  it('reads the DTLS fingerprint and role from the answer', () => {
    expect(dtlsFromAnswer('v=0\r\na=fingerprint:sha-256 11:22\r\na=setup:active\r\n')).toEqual({
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: '11:22' }],
    });
    expect(dtlsFromAnswer('a=fingerprint:sha-256 11:22\r\na=setup:passive\r\n').role).toBe('server');
  });
});
