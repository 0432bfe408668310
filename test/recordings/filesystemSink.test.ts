/** The default sink: a folder per case and entry, media hard-linked (or copied) and verified, idempotent. */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemSink, type AuditEvent } from '../../recordings/index.js';
import { syntheticAuditEntry, syntheticRecordingEntry } from './helpers/entries.js';
import { removeTempDirs, sha256OfFile, tempDir } from './helpers/files.js';

afterAll(removeTempDirs);

describe('FilesystemSink', () => {
  it('files an entry under <root>/<caseId>/<entryId>/ with manifest, audit trail and verified media', async () => {
    const root = tempDir();
    const sink = new FilesystemSink({ root });
    const entry = await syntheticRecordingEntry(tempDir());
    await sink.deliver(entry);
    const dir = path.join(root, 'CASE-HEP-0042', entry.id);
    expect(sink.folderFor(entry)).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(['audit.jsonl', 'entry.json', 'manifest.json', ...entry.files.map((f) => f.name)].sort());
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual(entry.manifest);
    const audit = readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(audit).toEqual(entry.auditTrail);
    for (const f of entry.files) {
      const archived = path.join(dir, f.name);
      expect(sha256OfFile(archived)).toBe(f.sha256);
      expect(statSync(archived).ino).toBe(statSync(f.path).ino); // same file system: a hard link, no copy
      expect(statSync(archived).mode & 0o222).toBe(0); // read-only once archived
    }
    const recorded = JSON.parse(readFileSync(path.join(dir, 'entry.json'), 'utf8')) as { files: { path: string }[] };
    expect(recorded.files.every((f) => f.path.startsWith(dir))).toBe(true);

    // Idempotent: a second delivery neither fails nor changes anything.
    const before = statSync(path.join(dir, 'entry.json')).mtimeMs;
    await sink.deliver(entry);
    expect(statSync(path.join(dir, 'entry.json')).mtimeMs).toBe(before);
  });

  it('refuses a file that no longer matches its manifest hash', async () => {
    const entry = await syntheticRecordingEntry(tempDir());
    writeFileSync(entry.files[0]!.path, 'tampered');
    await expect(new FilesystemSink({ root: tempDir() }).deliver(entry)).rejects.toThrow(/SHA-256/);
  });

  it('keeps hostile ids inside the root and files case-less rooms by room', async () => {
    const root = tempDir();
    const sink = new FilesystemSink({ root });
    const hostile = { ...syntheticAuditEntry(3), caseId: '../../etc', id: '../passwd' };
    await sink.deliver(hostile);
    expect(sink.folderFor(hostile).startsWith(`${root}${path.sep}`)).toBe(true);
    expect(existsSync(path.join(sink.folderFor(hostile), 'entry.json'))).toBe(true);
    const broadcast = { ...syntheticAuditEntry(4), caseId: null, roomKind: 'broadcast' as const };
    await sink.deliver(broadcast);
    expect(path.relative(root, sink.folderFor(broadcast)).split(path.sep)[0]).toBe('_room-room-4');
  });
});
