/**
 * Loopback UDP ports for the recorder processes. Each recorded track needs an even RTP port and the
 * RTCP port above it, free at the moment FFmpeg binds them. We bind-test both on 127.0.0.1, keep them
 * reserved in this process until the track ends (two tracks started together never get the same
 * pair), and afterwards watch the kernel's socket table to learn when FFmpeg actually listens.
 *
 * The default range sits above Linux's ephemeral range (32768–60999) and mediasoup's default RTC
 * range (10000–59999), so neither the kernel nor a worker is likely to take a port in between.
 */
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';

export interface PortRange {
  min: number;
  max: number;
}

export const DEFAULT_RECORDER_PORTS: PortRange = { min: 61000, max: 64998 };

const reserved = new Set<number>();

export interface PortPair {
  rtpPort: number;
  rtcpPort: number;
  /** Returns the pair to the pool; safe to call more than once. */
  release(): void;
}

/** Whether `port` can be bound on 127.0.0.1 for UDP right now. */
export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
}

/** An even port p with p and p+1 free on 127.0.0.1 right now; tries at most `attempts` random pairs. */
export async function reservePortPair(range: PortRange = DEFAULT_RECORDER_PORTS, attempts = 64): Promise<PortPair> {
  const first = range.min + (range.min % 2);
  const pairs = Math.floor((range.max - first) / 2);
  if (pairs < 1) throw new Error(`recorder port range ${range.min}-${range.max} is too small`);
  for (let i = 0; i < attempts; i++) {
    const rtpPort = first + 2 * Math.floor(Math.random() * pairs);
    if (reserved.has(rtpPort)) continue;
    reserved.add(rtpPort); // claimed before the awaits below, so a concurrent caller skips it
    if ((await udpFree(rtpPort)) && (await udpFree(rtpPort + 1))) {
      let released = false;
      return {
        rtpPort,
        rtcpPort: rtpPort + 1,
        release: () => {
          if (!released) reserved.delete(rtpPort);
          released = true;
        },
      };
    }
    reserved.delete(rtpPort);
  }
  throw new Error(`no free UDP port pair for a recorder in ${range.min}-${range.max}`);
}

/** True when some socket is bound to 127.0.0.1:port or 0.0.0.0:port (Linux /proc/net/udp). */
export async function isUdpPortBound(port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let table: string;
  try {
    table = await readFile('/proc/net/udp', 'utf8');
  } catch {
    return false;
  }
  for (const line of table.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    if (local === `0100007F:${hexPort}` || local === `00000000:${hexPort}`) return true;
  }
  return false;
}

/**
 * Waits until the port is bound, polling every `intervalMs`. Stops early (false) when `giveUp()`
 * says so (the process died) and after `timeoutMs`. Without /proc (not Linux) it cannot see the
 * socket and returns false at the timeout: callers then go on, having waited that long.
 */
export async function waitForUdpBound(
  port: number,
  options: { timeoutMs: number; intervalMs?: number; giveUp?: () => boolean },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 20;
  while (Date.now() < deadline) {
    if (options.giveUp?.()) return false;
    if (await isUdpPortBound(port)) return true;
    await new Promise((r) => setTimeout(r, interval));
  }
  return false;
}
