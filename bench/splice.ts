/**
 * What the RTMP relay's RtpSplice costs Node per packet. Loopback UDP in this process, alternating
 * rounds: a sender straight to a sink, then the same sender through an RtpSplice (receive, rewrite
 * the sequence number and timestamp, send on) to the sink. The difference of CPU per delivered packet
 * is the splice's own; multiplied by an ingest's packet rate it is its share of a core.
 *
 *   npm run bench:splice -- [--packets 20000] [--rounds 5] [--rate 300]
 *
 * `--rate`: packets a second of one ingest (1280×720 H.264 at ≈ 2.5 Mbit/s is ≈ 250 video packets of
 * ≈ 1,200 bytes, plus 50 of Opus), only for the last column.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { RtpSplice } from '../server/ingest/RtpSplice.js';
import { createLogger } from '../server/logger.js';
import { median, p95, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '300' },
  },
});
const PACKETS = Math.max(1000, Math.min(200_000, Number(values.packets)));
const ROUNDS = Math.max(1, Math.min(20, Number(values.rounds)));
const RATE = Math.max(1, Math.min(10_000, Number(values.rate)));
/** Packets sent per turn of the event loop: a 720p frame's worth, small enough not to overflow socket buffers. */
const BURST = 10;
const ROUND_TIMEOUT_MS = 30_000;

function bound(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  });
}

/** CPU µs of this process per packet that reached the sink, sending to `port`. */
async function round(port: number, sink: dgram.Socket): Promise<number> {
  let got = 0;
  const count = () => void got++;
  sink.on('message', count);
  const sender = await bound();
  const packet = Buffer.alloc(1200);
  packet[0] = 0x80; // RTP version 2
  packet[1] = 96;
  packet.writeUInt32BE(0x1234_5678, 8);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < PACKETS; i += BURST) {
    for (let j = 0; j < BURST; j++) {
      packet.writeUInt16BE((i + j) & 0xffff, 2);
      packet.writeUInt32BE(((i + j) * 3600) >>> 0, 4);
      sender.send(packet, port, '127.0.0.1');
    }
    await new Promise((r) => setImmediate(r));
  }
  // What is still in flight arrives within a few ms; a lost datagram is not waited for.
  let seen = -1;
  while (got !== seen && performance.now() - started < ROUND_TIMEOUT_MS) {
    seen = got;
    await new Promise((r) => setTimeout(r, 20));
  }
  const used = process.cpuUsage(cpu);
  sink.off('message', count);
  sender.close();
  if (got < PACKETS * 0.9) throw new Error(`only ${got} of ${PACKETS} packets arrived: the machine is too busy to measure`);
  return (used.user + used.system) / got;
}

const log = createLogger('silent');
const sink = await bound();
const sinkRtcp = await bound();
const direct: number[] = [];
const spliced: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  direct.push(await round(sink.address().port, sink));
  const splice = await RtpSplice.open(90_000, log);
  splice.deliverTo(sink.address().port, sinkRtcp.address().port);
  try {
    spliced.push(await round(splice.ports.rtpPort, sink));
  } finally {
    splice.close();
  }
}
sink.close();
sinkRtcp.close();

const own = spliced.map((s, i) => s - direct[i]!);
console.log(
  `\nRtpSplice: CPU of this process per delivered packet (µs), ${ROUNDS} rounds of ${PACKETS} packets of 1,200 bytes ` +
    `(${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg()[0]!.toFixed(1)})\n`,
);
console.log(
  table(
    ['path', 'median µs / packet', 'p95 µs / packet', `% of a core at ${RATE} packets/s (median)`],
    [
      ['sender → sink', median(direct), p95(direct), ''],
      ['sender → splice → sink', median(spliced), p95(spliced), ''],
      ['the splice itself (difference)', median(own), p95(own), ((median(own) * RATE) / 10_000).toFixed(2)],
    ],
  ),
);
