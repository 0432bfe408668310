/**
 * The default case-record sink: a folder per case on local (or mounted archive) storage,
 *
 *   <root>/<caseId>/<entryId>/manifest.json, audit.jsonl, entry.json and the media files
 *
 * Media are hard-linked when on the same file system (no copy, no extra space), copied otherwise.
 * A copy is hashed and must match the manifest's SHA-256; a link is the very file the manifest
 * hashed (same inode), so it is only checked by size, which catches a file truncated or rewritten
 * since, without reading gigabytes again. `entry.json` is written last: its presence means the
 * folder is complete, so delivering the same entry again does nothing.
 *
 * `audit.jsonl` is the room's trail copied byte for byte up to the point the entry was handed over
 * (never re-serialised: its hash chain is over the exact bytes), and checked on the way: a trail
 * altered since it was written is refused, like a media file that no longer matches its hash.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CaseRecordEntry, CaseRecordSink } from '../CaseRecord.js';
import { digestFile, fsyncDir, safeSegment, writeFileAtomicSync, writeJsonAtomicSync } from '../fsutil.js';
import { verifyTrail, type TrailRef } from '../trailChain.js';

export interface FilesystemSinkOptions {
  root: string;
  name?: string;
}

export class FilesystemSink implements CaseRecordSink {
  readonly name: string;
  readonly root: string;

  constructor(options: FilesystemSinkOptions) {
    this.name = options.name ?? 'filesystem';
    this.root = path.resolve(options.root);
  }

  /** The folder an entry goes to. Cases without an id (broadcast, training) are filed by room. */
  folderFor(entry: CaseRecordEntry): string {
    const caseFolder = entry.caseId ? safeSegment(entry.caseId) : `_room-${safeSegment(entry.roomId)}`;
    return path.join(this.root, caseFolder, safeSegment(entry.id));
  }

  async deliver(entry: CaseRecordEntry): Promise<void> {
    const dir = this.folderFor(entry);
    const done = path.join(dir, 'entry.json');
    if (existsSync(done)) return;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const files = [];
    for (const file of entry.files) {
      const name = path.basename(file.name); // names are flat; never let one point outside the folder
      const dest = path.join(dir, name);
      await placeFile(file.path, dest, file.sha256, file.sizeBytes);
      files.push({ ...file, path: dest });
    }
    if (entry.manifest) writeJsonAtomicSync(path.join(dir, 'manifest.json'), entry.manifest);
    writeFileAtomicSync(path.join(dir, 'audit.jsonl'), archivedTrail(entry));
    writeJsonAtomicSync(done, { ...entry, files });
  }
}

/** The trail bytes the entry stands for: from its sealed hand-off, else from its manifest's note. */
function trailSource(entry: CaseRecordEntry): TrailRef | undefined {
  if (entry.trail) return entry.trail;
  const m = entry.manifest;
  return m?.auditFile && m.auditTrail ? { ...m.auditTrail, file: m.auditFile } : undefined;
}

function archivedTrail(entry: CaseRecordEntry): Buffer {
  const source = trailSource(entry);
  // An entry from before trails were chained: its events are all there is.
  if (!source) return Buffer.from(entry.auditTrail.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8');
  const bytes = readFileSync(source.file);
  if (bytes.length < source.bytes) throw new Error(`audit trail ${source.file} is shorter than when it was handed over`);
  const copy = bytes.subarray(0, source.bytes);
  if (source.bytes === 0) return copy;
  const verdict = verifyTrail(copy);
  const kind = verdict.problem?.kind;
  if (kind === 'altered' || kind === 'removed' || kind === 'reordered') {
    throw new Error(`audit trail ${source.file} was changed since it was written: ${verdict.problem?.message ?? ''}`);
  }
  if (verdict.finalHash !== source.hash) throw new Error(`audit trail ${source.file} does not end with the hash it was handed over with`);
  return copy;
}

async function placeFile(src: string, dest: string, sha256: string, sizeBytes: number): Promise<void> {
  if (existsSync(dest)) {
    // Left by an earlier delivery cut short: keep it only if it is the same content.
    if (statSync(dest).size === statSync(src).size && (await digestFile(dest)).sha256 === sha256) return;
    rmSync(dest, { force: true });
  }
  const tmp = `${dest}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  let linked = true;
  try {
    linkSync(src, tmp);
  } catch {
    linked = false;
    copyFileSync(src, tmp); // another file system (EXDEV) or links not allowed
  }
  // The archived file must be the one the manifest describes. A copy made new bytes: hash them.
  // A link made none (same inode as the file finalize hashed): its size must still match.
  const matches = linked ? statSync(tmp).size === sizeBytes : (await digestFile(tmp)).sha256 === sha256;
  if (!matches) {
    rmSync(tmp, { force: true });
    throw new Error(`${path.basename(src)} does not match the SHA-256 in its manifest`);
  }
  chmodSync(tmp, 0o440); // recorded media are evidence: read-only once archived
  renameSync(tmp, dest);
  fsyncDir(path.dirname(dest));
}
