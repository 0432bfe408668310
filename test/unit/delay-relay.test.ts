/**
 * The benchmark's relay as a clinic's downlink (`bench:join -- --downlink`): what the server sends a
 * client leaves at the link's rate, behind a queue that drops what would wait more than
 * DOWNLINK_QUEUE_MS; what the client sends is not limited. Loopback only.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DOWNLINK_QUEUE_MS, startDelayRelay, type DelayRelay } from '../../bench/lib/delayRelay.js';
import { freeMediaPorts } from '../../bench/lib/ports.js';

const sockets: dgram.Socket[] = [];
let relay: DelayRelay | undefined;

afterEach(async () => {
  await relay?.close();
  for (const s of sockets.splice(0)) s.close();
});

async function bound(): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

describe('delay relay downlink', () => {
  it('sends the server’s datagrams at the link rate and drops what would queue too long; the uplink is not limited', async () => {
    const server = await bound();
    let upstream = 0;
    server.socket.on('message', (msg, from) => {
      upstream++;
      // Every datagram the client sends makes the server answer with one of 1,000 bytes (8 ms at 1,000 kbit/s).
      server.socket.send(Buffer.alloc(1000), from.port, from.address);
    });
    const front = await freeMediaPorts();
    relay = await startDelayRelay({
      tcp: [],
      udp: [{ listen: { host: '127.0.0.1', port: front }, target: { host: '127.0.0.1', port: server.port } }],
      oneWayMs: 0,
      downlinkKbps: 1000,
    });
    const client = await bound();
    const arrivals: number[] = [];
    client.socket.on('message', () => arrivals.push(performance.now()));
    const SENT = 60;
    for (let i = 0; i < SENT; i++) client.socket.send(Buffer.alloc(100), front, '127.0.0.1');

    await expect.poll(() => upstream, { timeout: 5000 }).toBe(SENT);
    // About DOWNLINK_QUEUE_MS / 8 ms of them fit in the queue (+1 on the link); the rest are dropped.
    const fit = DOWNLINK_QUEUE_MS / 8;
    await expect.poll(() => arrivals.length, { timeout: 5000 }).toBeGreaterThanOrEqual(fit - 2);
    await new Promise((r) => setTimeout(r, DOWNLINK_QUEUE_MS + 100));
    expect(arrivals.length).toBeLessThanOrEqual(fit + 3);
    expect(arrivals.length).toBeLessThan(SENT);
    // Spread out at the link's pace, not sent at once (Node's timers may fire a few ms early: a margin).
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual((arrivals.length - 1) * 8 * 0.75);
  });
});
