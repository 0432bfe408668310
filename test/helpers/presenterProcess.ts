/**
 * Starts ./presenterMain.ts (a werift camera publishing FFmpeg's test pattern) as a child process and
 * drives it: pause, resume, close the camera, stop. Its FFmpeg is its own child; `stop()` ends both (SIGTERM, then
 * SIGKILL of the presenter after 5 s — FFmpeg then notices its parent gone at its next write).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface PresenterProcess {
  producerId: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Closes the camera's producer (the presenter stays in the room). */
  closeCamera(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPresenter(url: string, token: string): Promise<PresenterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'presenterMain.ts'), url, token], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = readline.createInterface({ input: child.stdout });
  const waiting: ((line: Record<string, string>) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line) as Record<string, string>));
  const next = (timeoutMs: number) =>
    new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`presenter: no answer within ${timeoutMs} ms`)), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const command = async (line: 'pause' | 'resume' | 'close') => {
    const answer = next(5000);
    child.stdin.write(`${line}\n`);
    const { error } = await answer;
    if (error) throw new Error(`presenter ${line}: ${error}`);
  };
  try {
    const { producerId, error } = await next(30_000);
    if (!producerId) throw new Error(`presenter did not publish: ${error}`);
    return { producerId, pause: () => command('pause'), resume: () => command('resume'), closeCamera: () => command('close'), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
