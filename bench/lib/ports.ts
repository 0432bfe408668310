/** Finds a port free for both UDP and TCP on loopback, so each test server gets its own media port. */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { udpFree } from '../../recordings/ports.js';

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A base port p such that p .. p+count-1 are free for UDP and TCP. */
export async function freeMediaPorts(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await tcpFree(p)) && (await udpFree(p));
    if (ok) return base;
  }
  throw new Error('no free media port found');
}

/** Whether something accepts TCP connections on loopback `port` (a server the test started is up). */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits until `child` (a server just spawned: redis-server, coturn) accepts connections on `port`,
 * polling every `pollMs`; kills it and throws with the end of its output if it exits or takes over 10 s.
 */
export async function untilListening(child: ChildProcess, port: number, name: string, pollMs = 50): Promise<void> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
