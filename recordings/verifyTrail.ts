/**
 * `npm run audit:verify <trail.jsonl | case-record entry folder>…` — checks an audit trail's hash
 * chain and seal, and for an archived entry that the trail is the one its `entry.json` and
 * `manifest.json` name. Prints OK with the line count and final hash, or the first altered, removed
 * or reordered line (line number and seq), or what is wrong with the seal.
 *
 * The seal key comes from the environment, as the server has it: AUDIT_SEAL_KEY, and optionally
 * AUDIT_SEAL_KEY_ID (then every seal must name that id). Exit code: 0 verified, 1 not verified
 * (altered, removed, reordered, unsealed, bad seal, no key), 2 unreadable or bad usage, 3 a trail
 * written before trails were chained (cannot be verified).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { headOfLines, scanTrail, verifyTrail, type TrailHead, type TrailVerdict, type VerifyOptions } from './trailChain.js';

export interface TrailReport {
  /** The trail file checked. */
  file: string;
  verdict: TrailVerdict;
  /** Everything that stops the trail from counting as verified, first the chain's own problem. */
  failures: string[];
  ok: boolean;
}

export const EXIT = { ok: 0, failed: 1, unusable: 2, unverifiable: 3 } as const;

/** Verifies a trail file, or the `audit.jsonl` of an archived entry folder against the entry's own records. */
export function verifyTrailAt(target: string, options: VerifyOptions = {}): TrailReport {
  const isEntry = statSync(target).isDirectory();
  const file = isEntry ? path.join(target, 'audit.jsonl') : target;
  const bytes = readFileSync(file);
  const verdict = verifyTrail(bytes, options);
  const failures: string[] = [];
  // Every problem's message names its line (and seq) itself.
  if (verdict.problem) failures.push(verdict.problem.message);
  if (options.key === undefined) failures.push('the seal was not checked: AUDIT_SEAL_KEY is not set');
  if (isEntry) failures.push(...crossCheck(target, bytes, verdict));
  return { file, verdict, failures, ok: failures.length === 0 };
}

/** What the entry says about its trail must be what the trail is. */
function crossCheck(dir: string, bytes: Buffer, verdict: TrailVerdict): string[] {
  const out: string[] = [];
  const entry = readJson(path.join(dir, 'entry.json')) as { trail?: TrailHead } | undefined;
  if (entry?.trail && entry.trail.hash !== verdict.finalHash) {
    out.push(`entry.json records the trail's final hash as ${entry.trail.hash}, the trail's is ${verdict.finalHash ?? 'none'}`);
  }
  const manifest = readJson(path.join(dir, 'manifest.json')) as { auditTrail?: TrailHead | null } | undefined;
  const noted = manifest?.auditTrail;
  if (noted) {
    // The manifest noted the trail as it stood at the end of the recording: a prefix of this copy.
    const prefix = bytes.length >= noted.bytes ? headOfLines(scanTrail(bytes.subarray(0, noted.bytes)), '').hash : undefined;
    if (prefix !== noted.hash) {
      out.push(`manifest.json notes the trail's hash after line ${noted.lines} as ${noted.hash}; the trail has ${prefix ?? 'fewer bytes'}`);
    }
  }
  return out;
}

function readJson(file: string): unknown {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

export function formatReport(r: TrailReport): string {
  const v = r.verdict;
  const seqs = v.events ? `, ${v.events} events (last seq ${v.lastSeq})` : '';
  const lines = [
    `${r.ok ? 'OK' : v.problem?.kind === 'unverifiable' ? 'UNVERIFIABLE' : 'FAILED'}  ${r.file}`,
    `    ${v.lines} lines${seqs}; trail ${v.trailId ?? '(unnamed)'}; sealed with key ${v.keyId ?? '(none)'}`,
    `    final hash ${v.finalHash ?? '(none)'}`,
    ...r.failures.map((f) => `    ✗ ${f}`),
    ...v.notes.map((n) => `    · ${n}`),
  ];
  return lines.join('\n');
}

function exitCodeOf(r: TrailReport): number {
  if (r.ok) return EXIT.ok;
  return r.verdict.problem?.kind === 'unverifiable' ? EXIT.unverifiable : EXIT.failed;
}

export function main(args: string[], env: NodeJS.ProcessEnv): number {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    console.error(
      'usage: npm run audit:verify <trail.jsonl | case-record entry folder>…   (AUDIT_SEAL_KEY, AUDIT_SEAL_KEY_ID from the environment)',
    );
    return EXIT.unusable;
  }
  const options: VerifyOptions = {};
  if (env['AUDIT_SEAL_KEY']) options.key = env['AUDIT_SEAL_KEY'];
  if (env['AUDIT_SEAL_KEY_ID']) options.keyId = env['AUDIT_SEAL_KEY_ID'];
  // `npm run` changes to the package folder; paths are meant from where the command was typed.
  const base = env['INIT_CWD'] ?? process.cwd();
  const codes: number[] = [];
  for (const arg of args) {
    const target = path.resolve(base, arg);
    let report: TrailReport;
    try {
      report = verifyTrailAt(target, options);
    } catch (error) {
      console.log(`UNREADABLE  ${target}\n    ✗ ${error instanceof Error ? error.message : String(error)}`);
      codes.push(EXIT.unusable);
      continue;
    }
    console.log(formatReport(report));
    codes.push(exitCodeOf(report));
  }
  // With several targets, the worst counts: a failure over an unreadable file over an unverifiable one.
  return [EXIT.failed, EXIT.unusable, EXIT.unverifiable].find((c) => codes.includes(c)) ?? EXIT.ok;
}

const invokedPath = process.argv[1];
if (invokedPath && import.meta.url === pathToFileURL(path.resolve(invokedPath)).href) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
