/**
 * What makes an audit trail tamper-evident, shared by the writer (AuditTrail), the archive
 * (FilesystemSink) and the verifier (`npm run audit:verify`).
 *
 * A trail is one JSON object per line. Every event line carries `prev`, the hex SHA-256 of the exact
 * bytes of the line before it (without its newline); the first line carries `trail` (the trail's id)
 * and, as `prev`, the genesis hash of that id. Sealing appends
 *
 *   {"type":"trail_sealed","at":…,"trail":…,"lines":N,"lastSeq":S,"hash":H,"alg":"HMAC-SHA256","keyId":K,"mac":M}
 *
 * where H is the SHA-256 of the line before the seal (the trail's final hash; it is the seal's link in
 * the chain) and M an HMAC-SHA256, under the configured key, of the seal's fields. A trail is sealed
 * when it is closed and each time it is handed to the case record (a recording handed over while the
 * consultation goes on); lines after a seal chain to the seal line.
 *
 * Changing, removing, inserting or reordering a line breaks a link, and rewriting every hash after it
 * cannot forge the seal without the key. A line torn by a crash stays in the chain (the next line
 * links to its bytes): it is evidence, not damage.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const SEAL_TYPE = 'trail_sealed';
export const SEAL_ALGORITHM = 'HMAC-SHA256';

/** The key trails are sealed with; `keyId` is written in each seal so a verifier knows which key to use. */
export interface AuditSealKey {
  keyId: string;
  /** At least 32 characters (checked by the configuration); used as UTF-8 bytes. */
  key: string;
}

/** Where a trail stood at one moment: enough to find that moment again in the file and check it. */
export interface TrailHead {
  trailId: string;
  /** Lines in the file up to here (events, seals, torn lines). */
  lines: number;
  /** Bytes of the file up to here: the prefix an archive copies, byte for byte. */
  bytes: number;
  lastSeq: number;
  /** Hex SHA-256 of the last line that is not a seal: vouches for every line before it. */
  hash: string;
  /** True when the last line is a seal (whose MAC covers `hash`). */
  sealed: boolean;
  /** The key id of the last seal up to here; null if there is none. */
  keyId: string | null;
  /** False for a trail begun before trails were chained: its start cannot be checked. */
  chained: boolean;
}

/** A trail head and the trail's file on this server: what the case record copies from. */
export interface TrailRef extends TrailHead {
  file: string;
}

/** A head as sent off this server: without the local path of the file. */
export function withoutFile({ file: _file, ...head }: TrailRef): TrailHead {
  return head;
}

export interface SealLine {
  type: typeof SEAL_TYPE;
  at: string;
  trail: string;
  /** Lines before the seal. */
  lines: number;
  lastSeq: number;
  /** Hex SHA-256 of the line before the seal. */
  hash: string;
  alg: typeof SEAL_ALGORITHM;
  keyId: string;
  mac: string;
}

/** Hex SHA-256: of a line's exact bytes (its newline excluded), or of the text given. */
export const hashLine = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The `prev` of a trail's first line: ties the chain to the trail's id, so no line can come before it. */
export function genesisHash(trailId: string): string {
  return hashLine(`telemed-sfu/audit-trail/v1\n${trailId}`);
}

/** A key id derived from the key itself, when none is configured: changes with the key, reveals nothing usable. */
export function derivedKeyId(key: string): string {
  return `sha256-${hashLine(`telemed-sfu/audit-seal-key-id\n${key}`).slice(0, 12)}`;
}

function sealMac(key: string, s: Omit<SealLine, 'mac'>): string {
  const canonical = JSON.stringify(['telemed-sfu/audit-seal/v1', s.trail, s.lines, s.lastSeq, s.hash, s.at, s.alg, s.keyId]);
  return createHmac('sha256', key).update(canonical).digest('hex');
}

export function makeSeal(key: AuditSealKey, fields: { trail: string; lines: number; lastSeq: number; hash: string }): SealLine {
  const unsigned = { type: SEAL_TYPE, at: new Date().toISOString(), ...fields, alg: SEAL_ALGORITHM, keyId: key.keyId } as const;
  return { ...unsigned, mac: sealMac(key.key, unsigned) };
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Whether a seal line is exactly what the writer makes of its fields (same keys, order and spelling:
 * the final seal has no successor whose link would catch a changed byte) and, with a key, whether its
 * MAC matches.
 */
function sealIntact(line: TrailLine, key: string | undefined): boolean {
  const v = line.value ?? {};
  const canonical: Record<string, unknown> = {};
  for (const field of ['type', 'at', 'trail', 'lines', 'lastSeq', 'hash', 'alg', 'keyId', 'mac']) canonical[field] = v[field];
  if (hashLine(JSON.stringify(canonical)) !== line.hash) return false;
  const seal = v as unknown as SealLine;
  if (typeof seal.mac !== 'string' || !HEX64.test(seal.mac) || typeof seal.hash !== 'string' || !HEX64.test(seal.hash)) return false;
  if (key === undefined) return true;
  const expected = Buffer.from(sealMac(key, seal), 'hex');
  return timingSafeEqual(Buffer.from(seal.mac, 'hex'), expected);
}

export type TrailLineKind = 'event' | 'seal' | 'torn' | 'blank' | 'other';

/** One physical line of a trail file. */
export interface TrailLine {
  /** 1-based, as an editor shows it. */
  number: number;
  kind: TrailLineKind;
  /** Hex SHA-256 of the line's bytes, without its newline. */
  hash: string;
  /** Its link to the line before: an event's `prev`, a seal's `hash`; undefined if it has none. */
  link: string | undefined;
  /** An event's `seq`. */
  seq: number | undefined;
  value: Record<string, unknown> | undefined;
  /** Byte offset just after the line (after its newline, if it has one). */
  end: number;
}

/** Splits trail bytes into lines, hashing each exactly as written. A last line without a newline was torn. */
export function scanTrail(bytes: Uint8Array): TrailLine[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: TrailLine[] = [];
  for (let start = 0; start < buf.length;) {
    const newline = buf.indexOf(0x0a, start);
    const stop = newline === -1 ? buf.length : newline;
    const raw = buf.subarray(start, stop);
    lines.push({ number: lines.length + 1, hash: hashLine(raw), end: newline === -1 ? stop : stop + 1, ...classify(raw) });
    start = newline === -1 ? buf.length : newline + 1;
  }
  return lines;
}

function classify(raw: Buffer): Pick<TrailLine, 'kind' | 'link' | 'seq' | 'value'> {
  const text = raw.toString('utf8');
  if (!text.trim()) return { kind: 'blank', link: undefined, seq: undefined, value: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'torn', link: undefined, seq: undefined, value: undefined };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { kind: 'other', link: undefined, seq: undefined, value: undefined };
  const value = parsed as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  // The same test the trail's readers apply: these are the lines that count as events.
  if (typeof value['seq'] === 'number' && typeof value['at'] === 'string' && typeof value['type'] === 'string') {
    return { kind: 'event', link: str(value['prev']), seq: value['seq'], value };
  }
  if (value['type'] === SEAL_TYPE) return { kind: 'seal', link: str(value['hash']), seq: undefined, value };
  return { kind: 'other', link: str(value['prev']), seq: undefined, value };
}

/** The head of a scanned trail: `fallbackId` names a trail whose first line does not (empty, or older than chaining). */
export function headOfLines(lines: TrailLine[], fallbackId: string): TrailHead & { chainHead: string } {
  const first = lines[0];
  const trailId = typeof first?.value?.['trail'] === 'string' ? first.value['trail'] : fallbackId;
  const last = lines.at(-1);
  const lastContent = findLast(lines, (l) => l.kind !== 'seal');
  const lastSeal = findLast(lines, (l) => l.kind === 'seal');
  return {
    trailId,
    lines: lines.length,
    bytes: last?.end ?? 0,
    lastSeq: lines.reduce((max, l) => Math.max(max, l.seq ?? 0), 0),
    hash: lastContent?.hash ?? genesisHash(trailId),
    sealed: last?.kind === 'seal',
    keyId: typeof lastSeal?.value?.['keyId'] === 'string' ? lastSeal.value['keyId'] : null,
    chained: !first || first.link !== undefined,
    // The hash the next line links to: the last line's, whatever it is.
    chainHead: last?.hash ?? genesisHash(trailId),
  };
}

// Array.prototype.findLast is ES2023; the project compiles against ES2022.
function findLast<T>(items: T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return items[i];
  return undefined;
}

/** The head of a trail file as it is now; null if the file is missing or empty. */
export function readTrailHead(file: string, fallbackId: string): TrailHead | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (bytes.length === 0) return null;
  const { chainHead: _next, ...head } = headOfLines(scanTrail(bytes), fallbackId);
  return head;
}

export type TrailProblemKind = 'altered' | 'removed' | 'reordered' | 'unsealed' | 'bad-seal' | 'unverifiable' | 'empty';

export interface TrailProblem {
  kind: TrailProblemKind;
  /** 1-based line number in the file. */
  line: number;
  /** The seq of that line, or for a removal the first missing seq; null when the line has none. */
  seq: number | null;
  message: string;
}

export interface TrailVerdict {
  /** No problem found. Seals are only checked against a key if one was given (`sealChecked`). */
  ok: boolean;
  trailId: string | null;
  lines: number;
  events: number;
  lastSeq: number;
  /** Hex SHA-256 of the last line that is not a seal (what the final seal's MAC covers). */
  finalHash: string | null;
  /** The key id of the last seal. */
  keyId: string | null;
  /** A key was given and every seal's MAC matched it. */
  sealChecked: boolean;
  /** The first problem, in file order. */
  problem: TrailProblem | null;
  /** Things that are not problems but a reader should know (torn lines kept as evidence, checkpoint seals). */
  notes: string[];
}

export interface VerifyOptions {
  /** Without a key the chain is checked but not the seals' MACs (`sealChecked` false). */
  key?: string;
  /** If given, every seal must name this key id. */
  keyId?: string;
}

/** Checks a trail's bytes: the chain line by line from the genesis, then every seal. */
export function verifyTrail(bytes: Uint8Array, options: VerifyOptions = {}): TrailVerdict {
  const lines = scanTrail(bytes);
  const head = headOfLines(lines, '');
  const firstTrail = lines[0]?.value?.['trail'];
  const verdict: TrailVerdict = {
    ok: false,
    trailId: typeof firstTrail === 'string' ? firstTrail : null,
    lines: lines.length,
    events: lines.filter((l) => l.kind === 'event').length,
    lastSeq: head.lastSeq,
    finalHash: lines.length ? head.hash : null,
    keyId: head.keyId,
    sealChecked: false,
    problem: null,
    notes: [],
  };
  verdict.problem = new ChainCheck(lines, verdict.trailId, options, verdict.notes).run();
  verdict.sealChecked = verdict.problem === null && options.key !== undefined && lines.some((l) => l.kind === 'seal');
  verdict.ok = verdict.problem === null;
  return verdict;
}

/** The walk behind `verifyTrail`: finds the first broken link and tells what most likely happened there. */
class ChainCheck {
  readonly #lines: TrailLine[];
  readonly #trailId: string | null;
  readonly #options: VerifyOptions;
  readonly #notes: string[];
  /** The seq reached at each line: an event's own, a seal's lastSeq, else the one before. */
  readonly #seqAt: number[] = [];

  constructor(lines: TrailLine[], trailId: string | null, options: VerifyOptions, notes: string[]) {
    this.#lines = lines;
    this.#trailId = trailId;
    this.#options = options;
    this.#notes = notes;
    let seq = 0;
    for (const l of lines) {
      if (l.kind === 'event' && l.seq !== undefined) seq = l.seq;
      else if (l.kind === 'seal' && typeof l.value?.['lastSeq'] === 'number') seq = l.value['lastSeq'];
      this.#seqAt.push(seq);
    }
  }

  run(): TrailProblem | null {
    const lines = this.#lines;
    const first = lines[0];
    if (!first) return { kind: 'empty', line: 0, seq: null, message: 'the trail is empty' };
    if (first.kind === 'event' && first.link === undefined) {
      return problem('unverifiable', 1, first.seq, 'line 1 has no hash chain: the trail was written before trails were chained');
    }
    for (let i = 0; i < lines.length; i++) {
      const broken = this.#brokenAt(i);
      if (broken) return this.#explain(i);
    }
    for (const l of lines) {
      if (l.kind === 'torn' && l.number < lines.length)
        this.#notes.push(`line ${l.number} was torn by an interrupted write; kept as evidence`);
    }
    if (first.kind === 'torn' || first.kind === 'blank') {
      return problem(
        'unverifiable',
        1,
        null,
        'line 1 is torn (the server stopped while writing it): the start of the trail cannot be checked',
      );
    }
    return this.#checkSeals();
  }

  /** Whether line i fails to link to the line before it (torn and blank lines carry no link: the next line checks them). */
  #brokenAt(i: number): boolean {
    const line = this.#lines[i]!;
    if (line.kind === 'torn' || line.kind === 'blank') return false;
    const expected = i === 0 ? (this.#trailId === null ? undefined : genesisHash(this.#trailId)) : this.#lines[i - 1]!.hash;
    return line.link === undefined || line.link !== expected;
  }

  /**
   * Line j does not link to line j-1. Lines before j-1 are vouched for by their successors; line j-1
   * is vouched for by nothing. Whether line j is itself intact (its successor links to it) and the seq
   * numbers around the break tell an altered line from a removed or a moved one.
   */
  #explain(j: number): TrailProblem {
    const lines = this.#lines;
    const line = lines[j]!;
    if (j === 0) {
      if (line.kind === 'seal') return problem('removed', 1, 1, 'line 1 is a seal: the lines it sealed were removed');
      if (line.seq !== undefined && line.seq > 1 && this.#trailId === null) {
        const later = this.#lines.find((l) => l.kind === 'event' && l.seq === 1);
        if (later) return outOfOrder(line, 1, later);
        return problem('removed', 1, 1, `line 1 has seq ${line.seq}: the lines before it (seq 1–${line.seq - 1}) were removed`);
      }
      return problem('altered', 1, line.seq, 'line 1 was altered: it does not start the trail it names');
    }
    const pred = lines[j - 1]!;
    if (pred.kind === 'torn' || pred.kind === 'blank' || pred.kind === 'other') {
      return problem(
        'altered',
        pred.number,
        null,
        `line ${pred.number} is not the line that line ${line.number} recorded before it (altered or inserted)`,
      );
    }
    const reached = this.#seqAt[j - 1]!;
    const expectedBefore = line.kind === 'event' ? line.seq! - 1 : line.kind === 'seal' ? this.#seqAt[j] : undefined;
    const intact = this.#vouched(j);
    if (!this.#consistent(j - 1) && intact !== false) return alteredLine(pred, `its seq does not follow the line before it`);
    if (expectedBefore === undefined) return alteredLine(line, `it is not a trail event or seal`);
    if (expectedBefore === reached) {
      // Lines j and j+1 trade places: j+1 links to j-1. Seqs cannot show it when one of them is a seal.
      const next = lines[j + 1];
      if (intact === false && next?.link === pred.hash) {
        return problem('reordered', line.number, line.seq, `${named(line)} and ${named(next)} are in the wrong order`);
      }
      if (intact === false) {
        const why =
          line.kind === 'seal'
            ? `its link to line ${pred.number} does not match and its MAC does not verify (or the key given is wrong)`
            : `its link to line ${pred.number} does not match, nor does line ${line.number + 1}'s link to it`;
        return alteredLine(line, why);
      }
      // A removed seal (or torn line) leaves no gap in the seqs: it reads the same as pred altered.
      const which = intact === true ? '' : `, or line ${line.number}'s link to it was`;
      return alteredLine(pred, `its content does not match the hash line ${line.number} recorded (or a seal after it was removed${which})`);
    }
    const missing = reached + 1;
    const span = expectedBefore > missing ? `${missing}–${expectedBefore}` : `${missing}`;
    if (expectedBefore > reached) {
      const later = lines.slice(j + 1).find((l) => l.kind === 'event' && l.seq === missing);
      if (later) return outOfOrder(line, missing, later);
      const where = line.kind === 'seal' ? `before the seal at line ${line.number}` : `before line ${line.number}`;
      return problem('removed', line.number, missing, `line(s) with seq ${span} were removed ${where}`);
    }
    return problem(
      'reordered',
      line.number,
      line.seq,
      `${named(line)} is out of order: it comes after seq ${reached} (moved or copied here)`,
    );
  }

  /** Whether the line after i links to it; a final seal is taken as intact (its MAC is checked apart). */
  #vouched(i: number): boolean | undefined {
    const line = this.#lines[i]!;
    const next = this.#lines[i + 1];
    if (next && next.link !== undefined) return next.link === line.hash;
    // The final seal: only its MAC can tell whether it is as written.
    if (!next && line.kind === 'seal' && this.#options.key !== undefined) return sealIntact(line, this.#options.key);
    return undefined;
  }

  /** Whether line i's seq follows the seq reached before it, as the writer numbers them. */
  #consistent(i: number): boolean {
    const line = this.#lines[i]!;
    const before = i === 0 ? 0 : this.#seqAt[i - 1]!;
    if (line.kind === 'event') return line.seq === before + 1;
    if (line.kind === 'seal') return line.value?.['lastSeq'] === before;
    return true;
  }

  #checkSeals(): TrailProblem | null {
    const lines = this.#lines;
    let seals = 0;
    for (const [i, line] of lines.entries()) {
      if (line.kind !== 'seal') continue;
      seals++;
      const seal = line.value as unknown as SealLine;
      const fieldsOk =
        seal.trail === this.#trailId &&
        seal.lines === i &&
        seal.lastSeq === (i === 0 ? 0 : this.#seqAt[i - 1]) &&
        seal.alg === SEAL_ALGORITHM &&
        typeof seal.keyId === 'string' &&
        typeof seal.mac === 'string' &&
        typeof seal.at === 'string';
      if (!fieldsOk) return problem('bad-seal', line.number, null, `the seal at line ${line.number} does not describe the lines before it`);
      if (!sealIntact(line, undefined)) return problem('bad-seal', line.number, null, `the seal at line ${line.number} is not as written`);
      const { key, keyId } = this.#options;
      if (keyId !== undefined && seal.keyId !== keyId) {
        return problem('bad-seal', line.number, null, `the seal at line ${line.number} names key id ${seal.keyId}, not ${keyId}`);
      }
      if (key !== undefined && !sealIntact(line, key)) {
        return problem(
          'bad-seal',
          line.number,
          null,
          `the seal at line ${line.number} (key id ${seal.keyId}) does not match the key given: a wrong key, or the seal was forged`,
        );
      }
    }
    const last = lines.at(-1)!;
    if (last.kind !== 'seal') {
      const at = last.kind === 'event' ? ` (seq ${last.seq})` : last.kind === 'torn' ? ' (torn)' : '';
      return problem(
        'unsealed',
        last.number,
        last.seq ?? null,
        `not sealed after line ${last.number}${at}: the trail is still open, the server stopped before closing it, or its last lines were removed`,
      );
    }
    if (seals > 1) this.#notes.push(`${seals - 1} checkpoint seal(s) before the final one (hand-offs while the room went on)`);
    return null;
  }
}

function problem(kind: TrailProblemKind, line: number, seq: number | null | undefined, message: string): TrailProblem {
  return { kind, line, seq: seq ?? null, message };
}

/** "line 7 (seq 7)", or "the seal at line 9". */
function named(line: TrailLine): string {
  if (line.kind === 'seal') return `the seal at line ${line.number}`;
  return `line ${line.number}${line.seq !== undefined ? ` (seq ${line.seq})` : ''}`;
}

function outOfOrder(line: TrailLine, missing: number, later: TrailLine): TrailProblem {
  return problem(
    'reordered',
    line.number,
    line.seq,
    `${named(line)} is out of order: seq ${missing} comes after it, at line ${later.number}`,
  );
}

function alteredLine(line: TrailLine, why: string): TrailProblem {
  return problem('altered', line.number, line.seq, `${named(line)} was altered: ${why}`);
}
