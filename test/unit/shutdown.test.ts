/**
 * Shutdown waits for recordings to be finished within SHUTDOWN_GRACE_SECONDS (not a fixed 10 s),
 * logging what is left as it goes, and exits anyway at the bound, saying what it left. A stand-in
 * server whose close takes as long as the test says (real timers, short bounds).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { shutDown, type ShutdownLog, type ShutdownProgress } from '../../server/shutdown.js';

interface Line {
  level: 'info' | 'error';
  obj: object;
  msg: string;
}

function capture(): { log: ShutdownLog; lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    log: {
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    },
  };
}

/** A server hashing `recordings` recordings, one finished every `eachMs`; close resolves when all are done. */
function hashingServer(recordings: number, eachMs: number): { close(): Promise<void>; finishing(): ShutdownProgress } {
  let left = recordings;
  return {
    finishing: () => ({ rooms: left > 0 ? 1 : 0, recordings: left }),
    close: () =>
      new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          left--;
          if (left > 0) return;
          clearInterval(tick);
          resolve();
        }, eachMs);
      }),
  };
}

function exitCode(): { exit: (code: number) => void; code: Promise<number> } {
  let exit: (code: number) => void = () => undefined;
  const code = new Promise<number>((resolve) => (exit = resolve));
  return { exit, code };
}

describe('shutdown', () => {
  it('waits for long hashing within the grace, logging progress, then exits 0', async () => {
    const { log, lines } = capture();
    const { exit, code } = exitCode();
    const started = Date.now();
    shutDown(hashingServer(4, 100), { graceMs: 2000, progressEveryMs: 50, log, exit });
    expect(await code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(Date.now() - started).toBeLessThan(2000);
    const progress = lines.filter((l) => l.msg.startsWith('finishing '));
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress[0]!.msg).toMatch(/^finishing [1-4] recording\(s\) and 1 room record\(s\): hashing and archiving…$/);
    // The counts go down as recordings finish.
    const counts = progress.map((l) => (l.obj as ShutdownProgress).recordings);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(lines.at(-1)?.msg).toBe('shutdown complete');
    expect(lines.some((l) => l.level === 'error')).toBe(false);
  });

  it('exits 1 at the bound, saying how much was left unfinished', async () => {
    const { log, lines } = capture();
    const { exit, code } = exitCode();
    const started = Date.now();
    shutDown(hashingServer(1000, 1000), { graceMs: 300, progressEveryMs: 100, log, exit });
    expect(await code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1000);
    const last = lines.at(-1)!;
    expect(last.level).toBe('error');
    expect(last.msg).toMatch(/^shutdown grace of 0.3 s ran out with 1000 recording\(s\) and 1 room record\(s\) unfinished/);
  });

  it('exits 1 when closing fails', async () => {
    const { log, lines } = capture();
    const { exit, code } = exitCode();
    const failing = { close: () => Promise.reject(new Error('disk gone')), finishing: () => ({ rooms: 0, recordings: 0 }) };
    shutDown(failing, { graceMs: 1000, log, exit });
    expect(await code).toBe(1);
    expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'shutdown failed' });
  });

  it('SHUTDOWN_GRACE_SECONDS: 120 s by default, configurable, never 0', () => {
    const dev = { APP_MODE: 'development' } as const;
    expect(loadConfig(dev).shutdownGraceSeconds).toBe(120);
    expect(loadConfig({ ...dev, SHUTDOWN_GRACE_SECONDS: '900' }).shutdownGraceSeconds).toBe(900);
    expect(() => loadConfig({ ...dev, SHUTDOWN_GRACE_SECONDS: '0' })).toThrow(/SHUTDOWN_GRACE_SECONDS/);
  });
});
