/**
 * An RTMP encoder for tests and benchmarks: FFmpeg publishing a generated H.264/AAC programme (lavfi
 * test pattern and a sine tone) in real time. `bframes`: High profile with B-frames (the server must
 * re-encode it); otherwise Baseline (passed through).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RtmpPublisher {
  readonly process: ChildProcess;
  /** Resolves with the exit code once FFmpeg has gone. */
  readonly exited: Promise<number | null>;
  stderr(): string;
  kill(): Promise<number | null>;
}

export function publishRtmp(url: string, options: { bframes?: boolean; size?: string } = {}): RtmpPublisher {
  const profile = options.bframes ? ['-profile:v', 'high', '-bf', '2'] : ['-profile:v', 'baseline', '-tune', 'zerolatency'];
  const child = spawn(
    process.env['FFMPEG_PATH'] ?? 'ffmpeg',
    [
      ...['-hide_banner', '-nostats', '-nostdin', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', `testsrc=size=${options.size ?? '640x360'}:rate=25`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25', ...profile],
      ...['-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    process: child,
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Whether something listens on TCP `port` (Linux /proc/net/tcp), without connecting to it: FFmpeg's listener takes one connection only. */
export async function tcpListening(port: number): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table.split('\n').some((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    return local?.endsWith(`:${hex}`) && state === '0A';
  });
}
