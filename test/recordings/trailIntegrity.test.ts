/**
 * The audit trail is tamper-evident: every line carries the SHA-256 of the line before it and the
 * trail is sealed with an HMAC (key id recorded). One byte changed, a line removed or two lines
 * swapped is found and named by line and seq; a wrong key is refused; the archive copies the trail
 * byte for byte and the copy verifies; the manifest, the webhook body and the FHIR document carry the
 * final hash. Ends with the real server: a recorded consultation's archived trails verify with the
 * configured key, through the `npm run audit:verify` script itself.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { afterAll, describe, expect, it } from 'vitest';
import {
  auditEntry,
  AuditTrail,
  FhirSink,
  FilesystemSink,
  recordingEntry,
  verifyTrail,
  verifyTrailAt,
  WebhookSink,
  withoutFile,
  type AuditActor,
  type AuditSealKey,
  type FhirDocumentReference,
} from '../../recordings/index.js';
import { startTestServer } from '../helpers/server.js';
import { connectAndJoin, fakeRtpParameters, ok, type TestClient } from '../helpers/signalingClient.js';
import { token } from '../helpers/tokens.js';
import { syntheticRecordingEntry } from './helpers/entries.js';
import { removeTempDirs, tempDir } from './helpers/files.js';
import { DocumentReference } from './helpers/fhirR4.js';

afterAll(removeTempDirs);

const KEY: AuditSealKey = { keyId: 'slzl-audit-2026', key: 'seal-key-省肿瘤医院-4f9c2a7e81d3b6050c1e' };
const OTHER_KEY = 'seal-key-安平县医院-0000000000000000000000';

const wangFang: AuditActor = {
  participantId: 'p-wf',
  identity: 'slzl-10234',
  name: '王芳',
  role: 'lead_specialist',
  siteId: 'slzl',
  siteName: '省肿瘤医院',
};
const zhaoLei: AuditActor = {
  participantId: 'p-zl',
  identity: 'apx-2291',
  name: '赵磊',
  role: 'clinic_doctor',
  siteId: 'apx',
  siteName: '安平县医院',
};
const maLi: AuditActor = {
  participantId: 'p-ml',
  identity: 'hq-07',
  name: '马丽',
  role: 'care_team',
  siteId: 'hqc',
  siteName: '红旗村卫生室',
};

/** A sealed trail of `n` events: joins, chat, a mute; returns its file. */
function writeTrail(n = 12, dir = tempDir()): string {
  const file = path.join(dir, 'audit', 'hep-mdt-7', '20261123T0900Z-5e1f.jsonl');
  const trail = AuditTrail.open(file, { seal: KEY });
  const actors = [wangFang, zhaoLei, maLi];
  for (let i = 0; i < n; i++) {
    const actor = actors[i % 3]!;
    if (i < 3) trail.append('participant_joined', { actor });
    else if (i % 4 === 0) trail.append('muted', { actor: wangFang, data: { target: actor.identity, source: 'microphone' } });
    else trail.append('chat', { actor, data: { text: `第${i}条：病灶 2.3 cm，建议增强 CT` } });
  }
  trail.close();
  return file;
}

/** The byte range of line k (1-based, without its newline). */
function lineRange(bytes: Buffer, k: number): [number, number] {
  let start = 0;
  for (let i = 1; i < k; i++) start = bytes.indexOf(0x0a, start) + 1;
  return [start, bytes.indexOf(0x0a, start)];
}

function lines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(0x0a, start);
    out.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return out;
}
const join = (parts: Buffer[]) => Buffer.concat(parts.flatMap((l) => [l, Buffer.from('\n')]));

/** Flips one bit of the byte `offset` bytes after `marker` in line k. */
function flipByte(bytes: Buffer, k: number, marker: string, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  const [start, end] = lineRange(copy, k);
  const at = copy.indexOf(marker, start);
  expect(at).toBeGreaterThanOrEqual(start);
  expect(at + offset).toBeLessThan(end);
  copy[at + offset]! ^= 0x01;
  return copy;
}

const verify = (bytes: Buffer, key = KEY.key) => verifyTrail(bytes, { key });

describe('a chained, sealed audit trail', () => {
  it('verifies when untouched: every line links to the one before, the seal covers the final hash', () => {
    const file = writeTrail(12);
    const bytes = readFileSync(file);
    const verdict = verify(bytes);
    expect(verdict).toMatchObject({ ok: true, sealChecked: true, lines: 13, events: 12, lastSeq: 12, keyId: KEY.keyId, problem: null });
    expect(verdict.trailId).toBe('20261123T0900Z-5e1f');
    const parsed = lines(bytes).map((l) => JSON.parse(l.toString()) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ seq: 1, trail: '20261123T0900Z-5e1f', prev: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(parsed.at(-1)).toMatchObject({ type: 'trail_sealed', lines: 12, lastSeq: 12, hash: verdict.finalHash, keyId: KEY.keyId });
    // The head the writer reports is what the verifier finds; the events read back are unchanged by the chain.
    expect(AuditTrail.headOf(file)).toMatchObject({ hash: verdict.finalHash, lines: 13, bytes: bytes.length, sealed: true });
    expect(AuditTrail.read(file).map((e) => e.seq)).toEqual([...Array(12).keys()].map((i) => i + 1));
  });

  it('one byte changed in line k: the verifier names line k (content, link or seq; first, middle, last)', () => {
    const bytes = readFileSync(writeTrail(12));
    const cases: [k: number, marker: string, offset: number][] = [
      [1, '"name"', 9], // a byte of 王芳 (invalid UTF-8 after the flip)
      [5, '"target"', 12], // a byte of the muted person's identity
      [7, '"text"', 10], // a byte of a chat message
      [8, '"prev"', 20], // a byte of the link itself
      [9, '"seq"', 6], // the sequence number (9 → 8)
      [12, '"at"', 8], // the timestamp of the last event, just before the seal
    ];
    for (const [k, marker, offset] of cases) {
      const verdict = verify(flipByte(bytes, k, marker, offset));
      expect(verdict.ok, `line ${k} ${marker}`).toBe(false);
      expect(verdict.problem, `line ${k} ${marker}`).toMatchObject({ kind: 'altered', line: k, seq: k === 9 ? 8 : k });
    }
  });

  it('a removed line is named (the line where the gap is, and the missing seq), also just before the seal', () => {
    const all = lines(readFileSync(writeTrail(12)));
    const without = (k: number) => join(all.filter((_, i) => i !== k - 1));
    expect(verify(without(6)).problem).toMatchObject({ kind: 'removed', line: 6, seq: 6 });
    expect(verify(without(6)).problem?.message).toMatch(/seq 6 were removed before line 6/);
    expect(verify(without(12)).problem).toMatchObject({ kind: 'removed', line: 12, seq: 12 }); // the seal now follows seq 11
    expect(verify(without(1)).problem).toMatchObject({ kind: 'removed', line: 1, seq: 1 });
    // Its last lines and the seal cut off: chain intact, but not sealed.
    expect(verify(join(all.slice(0, 10))).problem).toMatchObject({ kind: 'unsealed', line: 10, seq: 10 });
  });

  it('two lines swapped: named as out of order, at the first of them', () => {
    const all = lines(readFileSync(writeTrail(12)));
    for (const k of [1, 4, 11]) {
      const swapped = [...all];
      [swapped[k - 1], swapped[k]] = [all[k]!, all[k - 1]!];
      const verdict = verify(join(swapped));
      expect(verdict.problem, `swap ${k}/${k + 1}`).toMatchObject({ kind: 'reordered', line: k, seq: k + 1 });
      expect(verdict.problem?.message).toContain(`seq ${k} comes after it, at line ${k + 1}`);
    }
  });

  it('exhaustively: any one byte changed anywhere (events, a checkpoint seal, the final seal) is found at its line', () => {
    const file = path.join(tempDir(), 'exhaustive.jsonl');
    const trail = AuditTrail.open(file, { seal: KEY });
    for (let i = 0; i < 8; i++) trail.append('chat', { actor: [wangFang, zhaoLei, maLi][i % 3]!, data: { text: `第${i}条` } });
    trail.seal(); // a hand-off while the room goes on: line 9
    for (let i = 0; i < 6; i++) trail.append('muted', { actor: wangFang, data: { target: maLi.identity } });
    trail.close(); // line 16
    const bytes = readFileSync(file);
    const all = lines(bytes);
    expect(all).toHaveLength(16);
    let flips = 0;
    for (let k = 1; k <= all.length; k++) {
      const [start, end] = lineRange(bytes, k);
      for (let at = start; at < end; at++) {
        const copy = Buffer.from(bytes);
        copy[at]! ^= 0x01;
        const problem = verify(copy).problem;
        if (problem?.line !== k) expect.fail(`byte ${at - start} of line ${k}: ${JSON.stringify(problem)}`);
        flips++;
      }
    }
    expect(flips).toBe(bytes.length - all.length); // every byte but the newlines
    // A removed line is named where the gap is; only a removed seal or the final seal leave no seq gap.
    for (let k = 1; k <= 16; k++) {
      const problem = verify(join(all.filter((_, i) => i !== k - 1))).problem;
      const expected = k === 9 ? { kind: 'altered', line: 8 } : k === 16 ? { kind: 'unsealed', line: 15 } : { kind: 'removed', line: k };
      expect(problem, `line ${k} removed`).toMatchObject(expected);
    }
  });

  it('a wrong key, another key id or a forged seal is refused; rewriting every hash cannot help without the key', () => {
    const bytes = readFileSync(writeTrail(6));
    expect(verify(bytes, OTHER_KEY).problem).toMatchObject({ kind: 'bad-seal', line: 7 });
    expect(verify(bytes, OTHER_KEY).problem?.message).toMatch(/does not match the key/);
    expect(verifyTrail(bytes, { key: KEY.key, keyId: 'slzl-audit-2025' }).problem?.message).toMatch(/names key id slzl-audit-2026/);
    // Without a key the chain is still checked, but the seal is not vouched for.
    expect(verifyTrail(bytes)).toMatchObject({ ok: true, sealChecked: false });

    // Forgery: change 赵磊's site, recompute every later link and the seal's hash, keep the old MAC.
    const forged = lines(bytes).map((l) => l.toString());
    forged[1] = forged[1]!.replace('安平县医院', '省肿瘤医院');
    for (let i = 2; i < forged.length; i++) {
      const hash = verifyTrail(Buffer.from(`${forged[i - 1]!}`)).finalHash!;
      forged[i] = forged[i]!.replace(/"(prev|hash)":"[0-9a-f]{64}"/, `"$1":"${hash}"`);
    }
    const rewritten = Buffer.from(forged.map((l) => `${l}\n`).join(''));
    expect(verifyTrail(rewritten).ok).toBe(true); // the chain alone is consistent again…
    expect(verify(rewritten).problem).toMatchObject({ kind: 'bad-seal', line: 7 }); // …the seal is not
  });

  it('a line torn by a crash stays in the chain and the trail still verifies; an old unchained trail reads but is unverifiable', () => {
    const dir = tempDir();
    const file = path.join(dir, 'torn.jsonl');
    const first = AuditTrail.open(file, { seal: KEY });
    first.append('participant_joined', { actor: wangFang });
    first.append('chat', { actor: wangFang, data: { text: '请上传病理报告' } });
    first.flush(); // the process dies without closing: no seal, then half a line
    appendFileSync(file, '{"seq":3,"at":"2026-11-23T09:05:00.000Z","type":"ch');
    const reopened = AuditTrail.open(file, { seal: KEY });
    expect(reopened.lastSeq).toBe(2);
    reopened.append('participant_joined', { actor: zhaoLei });
    reopened.close();
    const verdict = verify(readFileSync(file));
    expect(verdict).toMatchObject({ ok: true, lines: 5, events: 3, lastSeq: 3 });
    expect(verdict.notes.join()).toMatch(/line 3 was torn/);

    const legacy = path.join(dir, 'legacy.jsonl');
    writeFileSync(
      legacy,
      '{"seq":1,"at":"2025-03-01T08:00:00.000Z","type":"room_opened"}\n{"seq":2,"at":"2025-03-01T08:00:04.000Z","type":"participant_joined"}\n',
    );
    expect(AuditTrail.read(legacy)).toHaveLength(2); // recovery still reads it
    const old = AuditTrail.open(legacy, { seal: KEY });
    old.append('room_closed');
    old.close();
    expect(verify(readFileSync(legacy)).problem).toMatchObject({ kind: 'unverifiable', line: 1 });
  });
});

describe('the trail in the case record', () => {
  it('the archive copies the trail byte for byte and the copy verifies; a trail changed before archiving is refused', async () => {
    const file = writeTrail(8);
    const entry = auditEntry({
      id: 'audit-20261123T0900Z-5e1f',
      roomId: 'hep-mdt-7',
      roomKind: 'consultation',
      caseId: 'CASE-HEP-0042',
      auditTrail: AuditTrail.read(file),
      trail: AuditTrail.headOf(file)!,
    });
    const sink = new FilesystemSink({ root: tempDir() });
    await sink.deliver(entry);
    const dir = sink.folderFor(entry);
    expect(readFileSync(path.join(dir, 'audit.jsonl')).equals(readFileSync(file))).toBe(true);
    const report = verifyTrailAt(dir, { key: KEY.key, keyId: KEY.keyId });
    expect(report).toMatchObject({ ok: true, failures: [] });
    expect(report.verdict.finalHash).toBe(entry.trail!.hash);

    // The archived copy altered afterwards: the verifier names the line.
    const archived = path.join(dir, 'audit.jsonl');
    writeFileSync(archived, flipByte(readFileSync(archived), 4, '"text"', 12));
    expect(verifyTrailAt(dir, { key: KEY.key }).verdict.problem).toMatchObject({ kind: 'altered', line: 4, seq: 4 });

    // The trail altered on the server before it reached the archive: refused, like media that no longer match.
    writeFileSync(file, flipByte(readFileSync(file), 6, '"text"', 12));
    await expect(new FilesystemSink({ root: tempDir() }).deliver(entry)).rejects.toThrow(/changed since it was written: line 6 \(seq 6\)/);
  });

  it('a recording entry: the manifest notes the trail at the stop, the entry carries it sealed; webhook and FHIR carry the final hash', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit', 'hep-mdt-7.jsonl');
    const trail = AuditTrail.open(file, { seal: KEY });
    trail.append('participant_joined', { actor: wangFang });
    trail.append('recording_started', { actor: wangFang, data: { sessionId: 's-1' } });
    trail.append('recording_stopped', { actor: wangFang, data: { sessionId: 's-1' } });
    const synthetic = await syntheticRecordingEntry(dir);
    const manifest = { ...synthetic.manifest!, auditFile: file, auditTrail: withoutFile(AuditTrail.headOf(file)!) };
    trail.append('chat', { actor: zhaoLei, data: { text: '录像已结束，谢谢' } }); // the room goes on after the stop
    const entry = recordingEntry(manifest, dir, trail.events(), trail.seal());
    trail.append('participant_left', { actor: maLi });
    trail.close();
    expect(entry.trail).toMatchObject({ sealed: true, lines: 5, lastSeq: 4, keyId: KEY.keyId });

    const sink = new FilesystemSink({ root: tempDir() });
    await sink.deliver(entry);
    const entryDir = sink.folderFor(entry);
    const archived = readFileSync(path.join(entryDir, 'audit.jsonl'));
    expect(archived.equals(readFileSync(file).subarray(0, entry.trail!.bytes))).toBe(true); // the trail as handed over
    expect(verifyTrailAt(entryDir, { key: KEY.key })).toMatchObject({ ok: true });
    expect(verify(readFileSync(file))).toMatchObject({ ok: true, lines: 7 }); // the whole trail, sealed again at close
    // The manifest's note is checked against the copy: a changed note is a failure.
    const manifestFile = path.join(entryDir, 'manifest.json');
    const noted = JSON.parse(readFileSync(manifestFile, 'utf8')) as { auditTrail: { hash: string } };
    writeFileSync(manifestFile, JSON.stringify({ ...noted, auditTrail: { ...noted.auditTrail, hash: '0'.repeat(64) } }));
    expect(verifyTrailAt(entryDir, { key: KEY.key }).failures.join()).toMatch(/manifest.json notes the trail's hash after line 3/);

    const body = new WebhookSink({ url: 'https://records.slzl.example/hook', secret: 's'.repeat(40) }).body(entry);
    expect(body.entry.trail).toMatchObject({ hash: entry.trail!.hash, keyId: KEY.keyId, sealed: true });
    expect(body.entry.trail).not.toHaveProperty('file'); // the server's local path stays here
    expect(body.entry.manifest?.auditTrail?.hash).toBe(manifest.auditTrail.hash);

    const doc = new FhirSink({ baseUrl: 'https://fhir.slzl.example/R4' }).build(entry) as FhirDocumentReference;
    expect(doc.content[0]!.attachment.extension).toEqual(
      expect.arrayContaining([
        { url: 'urn:telemed-sfu:extension:audit-trail-sha256', valueString: entry.trail!.hash },
        { url: 'urn:telemed-sfu:extension:audit-trail-seal-key-id', valueString: KEY.keyId },
      ]),
    );
    expect(new JSONSchemaValidator().validate(doc)).toEqual([]);
    expect(DocumentReference.safeParse(doc).error?.issues).toBeUndefined();
  });
});

/** Runs `npm run audit:verify`'s command line (node --import tsx recordings/verifyTrail.ts) on `target`. */
function runVerifier(target: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  const script = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = script.scripts['audit:verify']!.split(' ');
  expect(node).toBe('node');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args, target],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe('npm run audit:verify', () => {
  it('reports OK with the line count and final hash, or the altered line, with the exit code to match', async () => {
    const file = writeTrail(10);
    const env = { AUDIT_SEAL_KEY: KEY.key, AUDIT_SEAL_KEY_ID: KEY.keyId };
    const good = await runVerifier(file, env);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/^OK /);
    expect(good.out).toContain(`11 lines, 10 events`);
    expect(good.out).toContain(`final hash ${verify(readFileSync(file)).finalHash}`);

    writeFileSync(file, flipByte(readFileSync(file), 7, '"text"', 14));
    const bad = await runVerifier(file, env);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAILED /);
    expect(bad.out).toContain('✗ line 7 (seq 7) was altered: its content does not match the hash line 8 recorded');

    const wrongKey = await runVerifier(writeTrail(3), { AUDIT_SEAL_KEY: OTHER_KEY });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.out).toMatch(/does not match the key given/);
    expect((await runVerifier(path.join(tempDir(), 'missing.jsonl'), env)).code).toBe(2);
  });
});

describe('the server seals what it archives', () => {
  it('a consultation recorded and closed: both archived entries verify with the configured key', async () => {
    const server = await startTestServer({ AUDIT_SEAL_KEY: KEY.key, AUDIT_SEAL_KEY_ID: KEY.keyId });
    const clients: TestClient[] = [];
    try {
      const room = 'trail-room';
      const site = { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' } as const;
      for (const [sub, name, role] of [
        ['slzl-10234', '王芳', 'lead_specialist'],
        ['apx-2291', '赵磊', 'clinic_doctor'],
      ] as const) {
        const { client, ack } = await connectAndJoin(server.url, token({ room, sub, name, role, site, caseId: 'CASE-TRAIL-1' }));
        ok(ack);
        clients.push(client);
      }
      const [lead, doctor] = clients as [TestClient, TestClient];
      const send = ok(await doctor.request('createTransport', { direction: 'send' }));
      const rtpParameters = fakeRtpParameters('audio', 5151);
      ok(await doctor.request('produce', { transportId: send.id, kind: 'audio', source: 'microphone', rtpParameters }));
      ok(await lead.request('startRecording', {}));
      ok(await lead.request('stopRecording', {}));
      const caseDir = path.join(server.records.archive.root, 'CASE-TRAIL-1');
      const archived = () =>
        existsSync(caseDir) ? readdirSync(caseDir).filter((d) => existsSync(path.join(caseDir, d, 'entry.json'))) : [];
      const until = async (n: number) => {
        for (const deadline = Date.now() + 20_000; archived().length < n && Date.now() < deadline;)
          await new Promise((r) => setTimeout(r, 100));
      };
      await until(1); // the recording is handed over while the consultation goes on…
      ok(await doctor.request('sendChat', { text: '录像已存档，继续讨论治疗方案' }));
      server.rooms.get(room)!.close(); // …and the room's whole trail when it ends
      await until(2);
      const entries = archived();
      expect(entries.filter((e) => e.startsWith('rec-'))).toHaveLength(1);
      expect(entries.filter((e) => e.startsWith('audit-'))).toHaveLength(1);
      for (const e of entries) {
        const report = verifyTrailAt(path.join(caseDir, e), { key: KEY.key, keyId: KEY.keyId });
        expect(report.failures, e).toEqual([]);
        expect(report.verdict.sealChecked).toBe(true);
      }
      // The recording's copy is the start of the room's: the same lines, sealed at the hand-off.
      const rec = readFileSync(
        path.join(
          caseDir,
          entries.find((e) => e.startsWith('rec-'))!,
          'audit.jsonl',
        ),
      );
      const whole = readFileSync(
        path.join(
          caseDir,
          entries.find((e) => e.startsWith('audit-'))!,
          'audit.jsonl',
        ),
      );
      expect(whole.subarray(0, rec.length).equals(rec)).toBe(true);
      expect(verifyTrail(whole).notes.join()).toMatch(/checkpoint seal/);
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
  });
});
