/** Checks on recorded files with the real FFmpeg tools, and temporary folders cleaned after the run. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, type Logger } from '../../../server/logger.js';

export const testLog: Logger = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');

const made: string[] = [];
export function tempDir(prefix = 'telemed-rec-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * What FFmpeg complains about while decoding the whole file ('' = clean). Decoding, not re-timing:
 * by default the null output re-times video on a 1/fps clock, where two frames of a live camera less
 * than a frame interval apart land on one tick and are reported as "non monotonically increasing dts"
 * (a report about FFmpeg's own output, not the file). The file's own millisecond clock is kept, and
 * a frame sharing a millisecond with the one before is passed over, as players do.
 */
export function decodeErrors(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-enc_time_base:v', '-1', '-fps_mode:v', 'vfr', '-f', 'null', '-'],
      { timeout: 30_000 },
      (error, _out, stderr) => {
        resolve(`${error ? `exit ${String(error.code)} ` : ''}${String(stderr)}`.trim());
      },
    );
  });
}

/** ffprobe's view of the first stream: codec and, for video, size. */
export function probeStream(file: string): Promise<{ codec_name?: string; width?: number; height?: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', file],
      { timeout: 20_000 },
      (error, stdout) => {
        if (error) return reject(error);
        const parsed = JSON.parse(String(stdout)) as { streams?: { codec_name?: string; width?: number; height?: number }[] };
        resolve(parsed.streams?.[0] ?? {});
      },
    );
  });
}

export function sha256OfFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first emitted event's arguments, or rejects after `timeoutMs`. */
export function nextEvent<T extends unknown[]>(
  subscribe: (listener: (...args: T) => void) => void,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
    subscribe((...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}
