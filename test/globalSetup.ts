/**
 * Nothing a test starts may outlive the suite. Every process started during the run inherits a marker
 * in its environment (set here, before the test workers start); at the end, any process still
 * carrying it — a server, FFmpeg, Chromium, redis, a media worker — is reported and killed, and the
 * run fails, so a leaking test is noticed instead of leaving a server behind on the machine.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

const MARKER = 'TELEMED_TEST_RUN';

export function setup(): void {
  process.env[MARKER] = randomUUID();
}

function survivors(run: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(`${MARKER}=${run}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      // vitest's own workers carry the marker too; they are vitest's to stop.
      if (command.includes('/node_modules/vitest/')) continue;
      found.push({ pid, command: command.slice(0, 160) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export async function teardown(): Promise<void> {
  const run = process.env[MARKER];
  if (!run || process.platform !== 'linux') return;
  // Children of the test workers (media workers, FFmpeg) notice their parent is gone within moments.
  const deadline = Date.now() + 5000;
  let left = survivors(run);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    left = survivors(run);
  }
  if (left.length === 0) return;
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // vitest reports an error thrown here but still exits 0: set the exit code as well.
  process.exitCode = 1;
  throw new Error(
    `processes started by the tests were still running after the suite (killed now):\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`,
  );
}
