/**
 * Crash recovery with real processes: a stand-in server records two tracks and is killed (SIGKILL)
 * mid-recording; recovery must turn what was left on disk into usable files and an 'interrupted'
 * manifest, idempotently.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditTrail, markHandedOff, recoverRecordings } from '../../recordings/index.js';
import { decodeErrors, removeTempDirs, sha256OfFile, sleep, tempDir, testLog } from './helpers/files.js';

const fixture = fileURLToPath(new URL('./fixtures/crashingServer.ts', import.meta.url));
const groups: number[] = [];
const strays: number[] = [];

interface Started {
  child: ChildProcess;
  dir: string;
  recorderPids: number[];
  sourcePid: number;
}

/** Starts the stand-in server in its own process group and waits for its report (at most 20 s). */
function startServer(recordingsDir: string, auditFile: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, recordingsDir, auditFile], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.pid) groups.push(child.pid);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stand-in server did not start within 20 s')), 20_000);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line) as Omit<Started, 'child'>;
      strays.push(info.sourcePid, ...info.recorderPids);
      resolve({ child, ...info });
    });
    child.once('exit', (code) => reject(new Error(`the stand-in server exited (${code}) before starting`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0;
  } catch {
    return false;
  }
};

afterAll(() => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const pid of strays) {
    try {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  removeTempDirs();
});

describe('recovery after a crash', () => {
  it('server and recorders killed at once: partial files are repaired, manifest "interrupted", idempotent', async () => {
    const recordingsDir = tempDir();
    const auditFile = path.join(tempDir(), 'room-audit.jsonl');
    const server = await startServer(recordingsDir, auditFile);
    await sleep(2500);
    process.kill(-server.child.pid!, 'SIGKILL'); // the whole group: node, mediasoup worker, recorders, source
    await killed(server.child);
    for (const pid of server.recorderPids) expect(alive(pid)).toBe(false);
    expect(existsSync(path.join(server.dir, 'manifest.json'))).toBe(false);

    const pending = await recoverRecordings({ recordingsDir, log: testLog });
    expect(pending).toHaveLength(1);
    const [{ entry, sessionDir, interrupted }] = pending as [(typeof pending)[number]];
    expect(sessionDir).toBe(server.dir);
    expect(interrupted).toBe(true);
    const manifest = entry.manifest!;
    expect(manifest).toMatchObject({ status: 'interrupted', roomId: 'hep-mdt-crash', caseId: 'CASE-HEP-0042' });
    expect(manifest.tracks.map((t) => t.status)).toEqual(['recovered', 'recovered']);
    for (const t of manifest.tracks) {
      expect(t.file).toMatch(/\.repaired\.(webm|ogg)$/);
      expect(sha256OfFile(path.join(sessionDir, t.file))).toBe(t.sha256);
      // The file exactly as the recorder left it is kept, with its own hash.
      expect(sha256OfFile(path.join(sessionDir, t.original!.file))).toBe(t.original!.sha256);
      expect(t.durationSeconds).toBeGreaterThan(1);
      expect(t.durationSeconds).toBeLessThan(4);
      expect(t.endedAt).not.toBeNull();
      expect(await decodeErrors(path.join(sessionDir, t.file))).toBe('');
    }
    expect(entry.files.map((f) => f.name).sort()).toEqual(manifest.tracks.map((t) => t.file).sort());
    expect(entry.auditTrail.map((e) => e.type)).toEqual(
      expect.arrayContaining(['participant_joined', 'recording_started', 'recording_interrupted']),
    );

    // Running again changes nothing and returns the same entry until it is handed off.
    const again = await recoverRecordings({ recordingsDir, log: testLog });
    expect(again.map((p) => p.entry.manifest)).toEqual([manifest]);
    expect(AuditTrail.read(auditFile).filter((e) => e.type === 'recording_interrupted')).toHaveLength(1);
    markHandedOff(sessionDir);
    expect(await recoverRecordings({ recordingsDir, log: testLog })).toEqual([]);
  });

  it('recorders left running by a dead server are ended by recovery and their files kept', async () => {
    const recordingsDir = tempDir();
    const server = await startServer(recordingsDir, path.join(tempDir(), 'room-audit.jsonl'));
    await sleep(2000);
    process.kill(server.child.pid!, 'SIGKILL'); // only the server: its recorders live on as orphans
    await killed(server.child);
    process.kill(server.sourcePid, 'SIGKILL');
    expect(server.recorderPids.every(alive)).toBe(true);

    const [pending] = await recoverRecordings({ recordingsDir, log: testLog });
    for (const pid of server.recorderPids) expect(alive(pid)).toBe(false);
    expect(pending!.entry.manifest!.tracks.map((t) => t.status)).toEqual(['recovered', 'recovered']);
    for (const t of pending!.entry.manifest!.tracks) {
      expect(t.durationSeconds).toBeGreaterThan(1);
      expect(await decodeErrors(path.join(pending!.sessionDir, t.file))).toBe('');
    }
  });
});
