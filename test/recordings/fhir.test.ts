/**
 * The FHIR sink: a DocumentReference (and a transaction Bundle with one Media per track) checked
 * against the official HL7 R4 JSON schema and against the R4 cardinalities, then POSTed to a local
 * FHIR-like receiver that implements conditional create (If-None-Exist), so redelivery is harmless.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirSink, type CaseRecordEntry, type FhirBundle, type FhirDocumentReference } from '../../recordings/index.js';
import { syntheticAuditEntry, syntheticRecordingEntry } from './helpers/entries.js';
import { removeTempDirs, tempDir } from './helpers/files.js';
import { DocumentReference, Media, TransactionBundle } from './helpers/fhirR4.js';
import { createReceiver, type Receiver } from './helpers/receiver.js';

let official: JSONSchemaValidator;
let receiver: Receiver;
const stored = new Map<string, unknown>(); // "system|value" -> resource
let entry: CaseRecordEntry;

beforeAll(async () => {
  official = new JSONSchemaValidator(); // compiles HL7's fhir.schema.json (R4, 4.0)
  entry = await syntheticRecordingEntry(tempDir());
  receiver = await createReceiver((req) => {
    if (req.headers['content-type'] !== 'application/fhir+json') return { status: 415 };
    const resource = JSON.parse(req.body.toString()) as {
      resourceType: string;
      entry?: { resource: unknown; request: { ifNoneExist: string } }[];
    };
    const create = (condition: string, r: unknown): number => {
      const key = decodeURIComponent(condition.replace(/^identifier=/, ''));
      if (stored.has(key)) return 200; // conditional create: already there, nothing created
      stored.set(key, r);
      return 201;
    };
    if (req.url === '/fhir/DocumentReference' && resource.resourceType === 'DocumentReference') {
      const condition = req.headers['if-none-exist'];
      if (typeof condition !== 'string') return { status: 412 };
      return { status: create(condition, resource), body: resource };
    }
    if (req.url === '/fhir' && resource.resourceType === 'Bundle') {
      const statuses = (resource.entry ?? []).map((e) => create(e.request.ifNoneExist, e.resource));
      return {
        status: 200,
        body: { resourceType: 'Bundle', type: 'transaction-response', entry: statuses.map((s) => ({ response: { status: String(s) } })) },
      };
    }
    return { status: 400 };
  });
  await receiver.start();
});

afterAll(async () => {
  await receiver?.stop();
  removeTempDirs();
});

function expectOfficiallyValid(resource: object): void {
  expect(official.validate(resource)).toEqual([]);
}

describe('FhirSink', () => {
  it('builds a valid R4 DocumentReference: subject, encounter, authors, SHA-1 hash and SHA-256 extension', () => {
    const doc = new FhirSink({ baseUrl: `${receiver.url}/fhir`, patient: () => ({ reference: 'Patient/pat-778' }) }).build(
      entry,
    ) as FhirDocumentReference;
    expectOfficiallyValid(doc);
    expect(DocumentReference.safeParse(doc).error?.issues).toBeUndefined();
    expect(doc).toMatchObject({
      resourceType: 'DocumentReference',
      status: 'current',
      docStatus: 'final',
      masterIdentifier: { value: entry.id },
      subject: { reference: 'Patient/pat-778' },
      context: {
        encounter: [{ type: 'Encounter', identifier: { value: 'hep-mdt-1' } }],
        related: [{ identifier: { value: 'CASE-HEP-0042' } }],
      },
    });
    expect(doc.author.map((a) => a.display)).toEqual([
      'Dr. Wang Fang (Lead specialist, Provincial Cancer Hospital)',
      'Dr. Li Ming (Clinic doctor, Anping County Hospital)',
    ]);
    // content[0]: manifest + audit trail inline; then one attachment per media file.
    expect(doc.content).toHaveLength(1 + entry.files.length);
    const inline = JSON.parse(Buffer.from(doc.content[0]!.attachment.data!, 'base64').toString()) as { auditTrail: unknown[] };
    expect(inline.auditTrail).toEqual(entry.auditTrail);
    for (const file of entry.files) {
      const att = doc.content.find((c) => c.attachment.url?.endsWith(file.name))!.attachment;
      const bytes = readFileSync(file.path);
      expect(att).toMatchObject({ contentType: file.contentType, size: bytes.length, creation: '2026-11-23T09:01:00.120Z' });
      expect(att.hash).toBe(createHash('sha1').update(bytes).digest('base64'));
      expect(att.extension).toEqual([
        { url: 'urn:telemed-sfu:extension:sha256', valueString: createHash('sha256').update(bytes).digest('hex') },
      ]);
    }
  });

  it('builds a valid transaction Bundle with one Media per track, each created only if new', () => {
    const bundle = new FhirSink({ baseUrl: `${receiver.url}/fhir`, mode: 'transaction' }).build(entry) as FhirBundle;
    expectOfficiallyValid(bundle);
    expect(TransactionBundle.safeParse(bundle).error?.issues).toBeUndefined();
    const media = bundle.entry.filter((e) => e.resource.resourceType === 'Media');
    expect(media).toHaveLength(entry.files.length);
    for (const m of media) {
      expect(Media.safeParse(m.resource).success).toBe(true);
      expect(m.request.ifNoneExist).toMatch(/^identifier=/);
      expect(m.resource).toMatchObject({
        status: 'completed',
        operator: { display: expect.stringContaining('Dr. Li Ming') },
        duration: 1799.88,
      });
    }
    // Without a configured patient, the subject is the case, by identifier.
    expect(bundle.entry[0]!.resource).toMatchObject({ subject: { type: 'Patient', identifier: { value: 'CASE-HEP-0042' } } });
    // A resent bundle names its resources identically (stable fullUrls).
    expect(
      (new FhirSink({ baseUrl: `${receiver.url}/fhir`, mode: 'transaction' }).build(entry) as FhirBundle).entry.map((e) => e.fullUrl),
    ).toEqual(bundle.entry.map((e) => e.fullUrl));
  });

  it('the checks bite: broken resources are refused by the official schema or the R4 cardinalities', () => {
    const doc = new FhirSink({ baseUrl: `${receiver.url}/fhir` }).build(entry) as FhirDocumentReference;
    expect(official.validate({ ...doc, status: 'final' })).not.toEqual([]); // not in the status value set
    const { status: _status, ...noStatus } = doc;
    expect(DocumentReference.safeParse(noStatus).success).toBe(false); // status is 1..1
    expect(DocumentReference.safeParse({ ...doc, content: [] }).success).toBe(false); // content is 1..*
    const hexHash = { ...doc, content: [{ attachment: { ...doc.content[1]!.attachment, hash: entry.files[0]!.sha256 } }] };
    expect(DocumentReference.safeParse(hexHash).success).toBe(false); // hash must be base64 SHA-1
  });

  it('an audit-only entry (room never recorded) is valid too', () => {
    const doc = new FhirSink({ baseUrl: `${receiver.url}/fhir` }).build(syntheticAuditEntry(7));
    expectOfficiallyValid(doc);
    expect(DocumentReference.safeParse(doc).success).toBe(true);
  });

  it('POSTs to the FHIR server; delivering again creates nothing new', async () => {
    const doc = new FhirSink({ baseUrl: `${receiver.url}/fhir/` });
    await doc.deliver(entry);
    await doc.deliver(entry);
    const tx = new FhirSink({ baseUrl: `${receiver.url}/fhir`, mode: 'transaction', name: 'fhir-tx' });
    await tx.deliver(entry);
    await tx.deliver(entry);
    expect(receiver.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /fhir/DocumentReference',
      'POST /fhir/DocumentReference',
      'POST /fhir',
      'POST /fhir',
    ]);
    expect(receiver.requests[0]!.headers['if-none-exist']).toBe(
      `identifier=${encodeURIComponent('urn:telemed-sfu:case-record')}|${entry.id}`,
    );
    expect(stored.size).toBe(1 + entry.files.length); // one DocumentReference, one Media per file
    await expect(new FhirSink({ baseUrl: `${receiver.url}/wrong` }).deliver(entry)).rejects.toThrow(/answered 400/);
  });
});
