/**
 * Small file-system helpers shared by the recording code. Records must survive a crash at any
 * instant, so every file a reader may trust is written to a temporary name, flushed to disk, then
 * renamed over the real name (rename is atomic on POSIX): a reader sees the old or the new content,
 * never half of it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** Writes `data` to `file` atomically and durably (temp file + fsync + rename + fsync of the folder). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  const fd = openSync(tmp, 'wx', 0o640);
  try {
    // A nearly full disk may take part of a write without an error: go on until all of it is written
    // (the next write then fails with ENOSPC), never rename a cut-short file into place.
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(path.dirname(file));
}

/** Makes a rename or a new file in `dir` durable. Some file systems refuse fsync on a folder: harmless. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here (e.g. some network file systems); the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

const SAFE_SEGMENT = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Turns an identifier from a token (case id, room id, entry id) into one safe path segment. Ids that
 * already are safe stay readable as is; anything else is cleaned and suffixed with a short hash so
 * that two different ids can never share a folder and `../` can never escape the data folder.
 */
export function safeSegment(id: string): string {
  if (SAFE_SEGMENT.test(id) && id !== '.' && id !== '..') return id;
  const cleaned =
    id
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 80) || 'id';
  return `${cleaned}-${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

export interface FileDigest {
  sizeBytes: number;
  /** Hex SHA-256: the integrity proof kept in the manifest. */
  sha256: string;
  /** Hex SHA-1: only because FHIR R4 `Attachment.hash` is defined as SHA-1. */
  sha1: string;
}

/** Streams a file once through SHA-256 and SHA-1 (recordings can be gigabytes: never read whole). */
export async function digestFile(file: string): Promise<FileDigest> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    sha256.update(buf);
    sha1.update(buf);
    sizeBytes += buf.length;
  }
  return { sizeBytes, sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Narrows an unknown thrown value to an Error without losing its message. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
