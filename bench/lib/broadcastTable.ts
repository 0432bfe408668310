/**
 * The broadcast load tool's table: one row per step. It is printed as it grows — the header before
 * the first step, each row as its step ends — so a long run shows its progress and keeps what it
 * measured even if the watchdog ends it. Rows are padded to the header's widths so they line up
 * under it (a wider cell only pushes its own row out); `summaryTable` aligns all rows at the end.
 */
import { table } from './stats.js';

export interface StepRow {
  viewers: number;
  connected: number;
  failedJoins: number;
  joinMedianMs: number;
  joinP95Ms: number;
  /** Same viewers, to their first RTP packet (signaling, ICE, DTLS; the rest is waiting for a key frame). */
  firstRtpMedianMs: number;
  videoKbpsMedian: number;
  audioKbpsMedian: number;
  videoFpsMedian: number;
  /** Most common size of the viewers' last key frame (which simulcast layer they get). */
  videoSize: string;
  lossMedianPct: number;
  lossMaxPct: number;
  serverNodeCpu: number;
  workerCpu: number[];
  serverCpu: number;
  serverRssMiB: number;
  benchCpu: number;
  presenterCpu: number;
}

export const HEADERS = [
  'viewers',
  'connected',
  'join→key frame median ms',
  'join p95 ms',
  'join→first RTP median ms',
  'video kbps/viewer',
  'audio kbps/viewer',
  'video fps/viewer',
  'key frame size',
  'loss % median',
  'loss % max',
  'server node CPU %',
  'worker CPU %',
  'server RSS MiB',
  'bench CPU %',
  'presenter CPU %',
];

/** A number that could not be measured (no viewer connected, no such process) shows as '-'. */
const num = (n: number) => (Number.isFinite(n) ? n : '-');
const pct = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

function cells(r: StepRow): (string | number)[] {
  return [
    r.viewers,
    r.failedJoins ? `${r.connected} (${r.failedJoins} failed)` : r.connected,
    num(r.joinMedianMs),
    num(r.joinP95Ms),
    num(r.firstRtpMedianMs),
    num(r.videoKbpsMedian),
    num(r.audioKbpsMedian),
    num(r.videoFpsMedian),
    r.videoSize,
    pct(r.lossMedianPct),
    pct(r.lossMaxPct),
    num(r.serverNodeCpu),
    r.workerCpu.map((c) => c.toFixed(1)).join(' / '),
    num(r.serverRssMiB),
    num(r.benchCpu),
    num(r.presenterCpu),
  ];
}

/** The header and separator lines. */
export function tableHead(): string[] {
  return table(HEADERS, []).split('\n');
}

/** One step's line, padded to the header's widths. */
export function tableRow(row: StepRow): string {
  return table(HEADERS, [cells(row)]).split('\n')[2]!;
}

/** All steps, every column as wide as its widest cell. */
export function summaryTable(rows: StepRow[]): string {
  return table(HEADERS, rows.map(cells));
}
