/** Options of the broadcast load tool (../broadcast-load.ts): defaults, limits and the command line. */
import { parseArgs } from 'node:util';
import type { RoomKind } from '../../signaling/protocol/index.js';
import { cpuCount } from './procstat.js';

export interface BroadcastLoadOptions {
  /** Total viewers after each step, increasing (e.g. [5, 10, 20]). */
  steps: number[];
  /** Measurement window per step (ms). */
  windowMs: number;
  /** Pause between the last join of a step and its window (ms). */
  settleMs: number;
  /** mediasoup workers of the server (MEDIA_WORKERS). */
  workers: number;
  kind: RoomKind;
  presenterRole: string;
  viewerRole: string;
  /** Viewers joining at the same time within a step. */
  joinConcurrency: number;
  /** Per viewer: join + first key frame (ms). */
  joinTimeoutMs: number;
  /** Extra server environment (e.g. BROADCAST_CONSUMERS_PER_ROUTER). */
  serverEnv?: Record<string, string>;
  /** Output sink (default console.log). */
  print?: (line: string) => void;
}

export const DEFAULTS: BroadcastLoadOptions = {
  steps: [5, 10, 20],
  windowMs: 5000,
  settleMs: 1000,
  workers: cpuCount(),
  kind: 'consultation',
  presenterRole: 'specialist',
  viewerRole: 'observer',
  joinConcurrency: 5,
  joinTimeoutMs: 15_000,
};

export const MAX_VIEWERS = 200;

/** The steps in increasing order; throws unless each is a whole number of viewers in 1..MAX_VIEWERS. */
export function checkedSteps(steps: number[]): number[] {
  const sorted = [...steps].sort((a, b) => a - b);
  if (!sorted.length || sorted.some((n) => !Number.isInteger(n) || n < 0) || sorted.at(-1)! > MAX_VIEWERS)
    throw new Error(`steps must be 0..${MAX_VIEWERS} (0: the presenter alone, a baseline)`);
  return sorted;
}

export function parseCli(argv: string[]): BroadcastLoadOptions {
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      steps: { type: 'string', default: DEFAULTS.steps.join(',') },
      window: { type: 'string', default: String(DEFAULTS.windowMs) },
      settle: { type: 'string', default: String(DEFAULTS.settleMs) },
      workers: { type: 'string', default: String(DEFAULTS.workers) },
      kind: { type: 'string', default: DEFAULTS.kind },
      'presenter-role': { type: 'string' },
      'viewer-role': { type: 'string' },
      'join-concurrency': { type: 'string', default: String(DEFAULTS.joinConcurrency) },
      'join-timeout': { type: 'string', default: String(DEFAULTS.joinTimeoutMs) },
      env: { type: 'string', multiple: true, default: [] },
    },
  });
  const kind = values.kind as RoomKind;
  const broadcast = kind === 'broadcast';
  const int = (v: string, name: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  return {
    steps: values.steps.split(',').map((s) => int(s.trim(), 'steps', 0, MAX_VIEWERS)),
    windowMs: int(values.window, 'window', 500, 60_000),
    settleMs: int(values.settle, 'settle', 0, 30_000),
    workers: int(values.workers, 'workers', 1, 64),
    kind,
    presenterRole: values['presenter-role'] ?? (broadcast ? 'presenter' : 'specialist'),
    viewerRole: values['viewer-role'] ?? (broadcast ? 'viewer' : 'observer'),
    joinConcurrency: int(values['join-concurrency'], 'join-concurrency', 1, 50),
    joinTimeoutMs: int(values['join-timeout'], 'join-timeout', 1000, 60_000),
    serverEnv: Object.fromEntries(
      values.env.map((kv) => {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new Error(`--env wants KEY=VALUE, not ${kv}`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    ),
  };
}

/** How long a run may take before the watchdog ends it (at most an hour). */
export function watchdogMs(options: BroadcastLoadOptions): number {
  // Worst case: every join batch times out twice (join, then key frame), plus start-up and windows.
  let budgetMs = 90_000;
  let previous = 0;
  for (const step of [...options.steps].sort((a, b) => a - b)) {
    budgetMs +=
      2 * options.joinTimeoutMs * Math.ceil((step - previous) / options.joinConcurrency) + options.settleMs + options.windowMs + 5000;
    previous = step;
  }
  return Math.min(budgetMs, 60 * 60_000);
}
