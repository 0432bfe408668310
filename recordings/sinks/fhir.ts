/**
 * HL7 FHIR R4 form of a case record: one `DocumentReference` for the consultation's recording (its
 * manifest and audit trail inline, each media file as a further `content`), and optionally one
 * `Media` per track in a transaction `Bundle`. Only the elements used here are typed.
 *
 * Hashes: R4 defines `Attachment.hash` as the base64 SHA-1 of the data, so SHA-1 goes there; the
 * SHA-256 the manifest relies on travels in an extension on the same attachment. The inline record's
 * attachment also carries the audit trail's final hash and the id of the key its seal was made with
 * (extensions `audit-trail-sha256`, `audit-trail-seal-key-id`), so the record system holds what a
 * later `npm run audit:verify` of the archived trail must find.
 */
import { createHash } from 'node:crypto';
import { ROLE_LABELS } from '../../signaling/protocol/index.js';
import type { AuditActor } from '../AuditTrail.js';
import type { CaseRecordEntry, CaseRecordFile } from '../CaseRecord.js';
import type { ManifestTrack } from '../Manifest.js';
import type { TrailHead } from '../trailChain.js';

export interface FhirIdentifier {
  system: string;
  value: string;
}
export interface FhirReference {
  reference?: string;
  type?: string;
  identifier?: FhirIdentifier;
  display?: string;
}
export interface FhirCoding {
  system: string;
  code: string;
  display?: string;
}
export interface FhirCodeableConcept {
  coding?: FhirCoding[];
  text?: string;
}
export interface FhirExtension {
  url: string;
  valueString: string;
}
export interface FhirPeriod {
  start?: string;
  end?: string;
}
export interface FhirAttachment {
  contentType: string;
  url?: string;
  data?: string;
  size: number;
  hash: string;
  title: string;
  creation?: string;
  extension?: FhirExtension[];
}
export interface FhirDocumentReference {
  resourceType: 'DocumentReference';
  masterIdentifier: FhirIdentifier;
  status: 'current';
  docStatus: 'final' | 'preliminary';
  type: FhirCodeableConcept;
  subject?: FhirReference;
  date: string;
  author: FhirReference[];
  description: string;
  content: { attachment: FhirAttachment }[];
  context: { encounter?: FhirReference[]; period?: FhirPeriod; related?: FhirReference[] };
}
export interface FhirMedia {
  resourceType: 'Media';
  identifier: FhirIdentifier[];
  partOf?: FhirReference[];
  status: 'completed' | 'stopped';
  type: FhirCodeableConcept;
  subject?: FhirReference;
  encounter?: FhirReference;
  createdPeriod: FhirPeriod;
  operator?: FhirReference;
  deviceName: string;
  duration?: number;
  content: FhirAttachment;
}
export interface FhirBundleEntry {
  fullUrl: string;
  resource: FhirDocumentReference | FhirMedia;
  request: { method: 'POST'; url: string; ifNoneExist: string };
}
export interface FhirBundle {
  resourceType: 'Bundle';
  type: 'transaction';
  entry: FhirBundleEntry[];
}

export interface FhirMappingOptions {
  /** Namespace of this server's identifiers (entries, tracks, rooms, cases, identities, extensions). */
  systemBase: string;
  /** The patient the case is about, e.g. `{ reference: 'Patient/123' }`; default: by case identifier. */
  patient?: (entry: CaseRecordEntry) => FhirReference | undefined;
  /** The encounter, e.g. `{ reference: 'Encounter/456' }`; default: by room identifier. */
  encounter?: (entry: CaseRecordEntry) => FhirReference | undefined;
  /** Where the record system can fetch a file; default `file://` + local path. */
  fileUrl?: (entry: CaseRecordEntry, file: CaseRecordFile) => string;
}

export const DEFAULT_SYSTEM_BASE = 'urn:telemed-sfu';
const MEDIA_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/media-type';

/** A stable UUID (v5-style, SHA-1 based) so a resent bundle names its resources identically. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`telemed-sfu:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

export function entryIdentifier(entry: CaseRecordEntry, o: FhirMappingOptions): FhirIdentifier {
  return { system: `${o.systemBase}:case-record`, value: entry.id };
}

function personRef(actor: AuditActor, o: FhirMappingOptions): FhirReference {
  return {
    type: actor.role === 'patient' ? 'Patient' : 'Practitioner',
    identifier: { system: `${o.systemBase}:identity`, value: actor.identity },
    display: `${actor.name} (${ROLE_LABELS[actor.role]}, ${actor.siteName})`,
  };
}

function subjectOf(entry: CaseRecordEntry, o: FhirMappingOptions): FhirReference | undefined {
  const given = o.patient?.(entry);
  if (given) return given;
  if (!entry.caseId) return undefined; // broadcasts and training have no patient
  return {
    type: 'Patient',
    identifier: { system: `${o.systemBase}:case`, value: entry.caseId },
    display: `Patient of case ${entry.caseId}`,
  };
}

function encounterOf(entry: CaseRecordEntry, o: FhirMappingOptions): FhirReference {
  return (
    o.encounter?.(entry) ?? {
      type: 'Encounter',
      identifier: { system: `${o.systemBase}:room`, value: entry.roomId },
      display: `Remote ${entry.roomKind.replace('_', '-')} ${entry.roomId}`,
    }
  );
}

function fileAttachment(
  entry: CaseRecordEntry,
  file: CaseRecordFile,
  track: ManifestTrack | undefined,
  o: FhirMappingOptions,
): FhirAttachment {
  const who = entry.manifest?.participants.find((p) => p.participantId === track?.participantId);
  const attachment: FhirAttachment = {
    contentType: file.contentType,
    url: o.fileUrl?.(entry, file) ?? new URL(`file://${file.path}`).href,
    size: file.sizeBytes,
    hash: hexToBase64(file.sha1),
    title: `${track?.source ?? file.mediaType}${who ? ` — ${who.name} (${ROLE_LABELS[who.role]}, ${who.siteName})` : ''}`,
    extension: [{ url: `${o.systemBase}:extension:sha256`, valueString: file.sha256 }],
  };
  if (track) attachment.creation = track.startedAt;
  return attachment;
}

/** The trail's final hash and seal key id: from the sealed hand-off, else as the manifest noted it. */
function trailExtensions(entry: CaseRecordEntry, o: FhirMappingOptions): FhirExtension[] {
  const head: TrailHead | null | undefined = entry.trail ?? entry.manifest?.auditTrail;
  if (!head) return [];
  return [
    { url: `${o.systemBase}:extension:audit-trail-sha256`, valueString: head.hash },
    ...(head.keyId ? [{ url: `${o.systemBase}:extension:audit-trail-seal-key-id`, valueString: head.keyId }] : []),
  ];
}

export function buildDocumentReference(entry: CaseRecordEntry, o: FhirMappingOptions): FhirDocumentReference {
  const m = entry.manifest;
  const record = Buffer.from(JSON.stringify({ manifest: m, auditTrail: entry.auditTrail }), 'utf8');
  const authors = new Map<string, FhirReference>();
  for (const p of m?.participants ?? []) if (p.role !== 'patient') authors.set(p.identity, personRef(p, o));
  const related: FhirReference[] = entry.caseId
    ? [{ identifier: { system: `${o.systemBase}:case`, value: entry.caseId }, display: `Case ${entry.caseId}` }]
    : [];
  const subject = subjectOf(entry, o);
  return {
    resourceType: 'DocumentReference',
    masterIdentifier: entryIdentifier(entry, o),
    status: 'current',
    docStatus: m?.status === 'interrupted' ? 'preliminary' : 'final',
    type: {
      coding: [{ system: `${o.systemBase}:record-type`, code: m ? 'consultation-recording' : 'consultation-audit-trail' }],
      text: m ? 'Remote consultation recording' : 'Remote consultation audit trail',
    },
    ...(subject ? { subject } : {}),
    date: entry.createdAt,
    author: [...authors.values()],
    description: m
      ? `Recording of ${entry.roomKind} room ${entry.roomId}: ${m.tracks.length} track(s), ${m.status}`
      : `Audit trail of ${entry.roomKind} room ${entry.roomId}`,
    content: [
      {
        attachment: {
          contentType: 'application/json',
          data: record.toString('base64'),
          size: record.length,
          hash: createHash('sha1').update(record).digest('base64'),
          title: 'Manifest and audit trail',
          creation: entry.createdAt,
          extension: [
            { url: `${o.systemBase}:extension:sha256`, valueString: createHash('sha256').update(record).digest('hex') },
            ...trailExtensions(entry, o),
          ],
        },
      },
      ...entry.files.map((f) => ({
        attachment: fileAttachment(
          entry,
          f,
          m?.tracks.find((t) => t.trackId === f.trackId),
          o,
        ),
      })),
    ],
    context: {
      encounter: [encounterOf(entry, o)],
      ...(m ? { period: { start: m.startedAt, end: m.stoppedAt } } : {}),
      ...(related.length ? { related } : {}),
    },
  };
}

export function buildMedia(entry: CaseRecordEntry, file: CaseRecordFile, o: FhirMappingOptions): FhirMedia {
  const track = entry.manifest?.tracks.find((t) => t.trackId === file.trackId);
  const operator = entry.manifest?.participants.find((p) => p.participantId === track?.participantId);
  const subject = subjectOf(entry, o);
  // A track whose recorder was restarted has one file per segment: one Media each, segment 1 keeping the track's id.
  const segment = file.segment ? track?.segments?.find((s) => s.index === file.segment) : undefined;
  const part = segment ?? track;
  const media: FhirMedia = {
    resourceType: 'Media',
    identifier: [
      {
        system: `${o.systemBase}:recording-track`,
        value: `${entry.id}/${file.trackId}${segment && segment.index > 1 ? `/${segment.index}` : ''}`,
      },
    ],
    status: part?.status === 'complete' || part?.status === 'recovered' ? 'completed' : 'stopped',
    type: { coding: [{ system: MEDIA_TYPE_SYSTEM, code: file.mediaType, display: file.mediaType === 'audio' ? 'Audio' : 'Video' }] },
    ...(subject ? { subject } : {}),
    encounter: encounterOf(entry, o),
    createdPeriod: { ...(part ? { start: part.startedAt } : {}), ...(part?.endedAt ? { end: part.endedAt } : {}) },
    ...(operator ? { operator: personRef(operator, o) } : {}),
    deviceName: 'telemed-sfu media server',
    content: fileAttachment(entry, file, track, o),
  };
  if (typeof part?.durationSeconds === 'number') media.duration = part.durationSeconds;
  return media;
}

/** The DocumentReference and a Media per file, each created only if its identifier is new. */
export function buildTransactionBundle(entry: CaseRecordEntry, o: FhirMappingOptions): FhirBundle {
  const doc = buildDocumentReference(entry, o);
  const docUrl = `urn:uuid:${stableUuid(entry.id)}`;
  const ifNew = (id: FhirIdentifier): string => `identifier=${encodeURIComponent(id.system)}|${encodeURIComponent(id.value)}`;
  const entries: FhirBundleEntry[] = [
    { fullUrl: docUrl, resource: doc, request: { method: 'POST', url: 'DocumentReference', ifNoneExist: ifNew(doc.masterIdentifier) } },
  ];
  for (const file of entry.files) {
    const media = { ...buildMedia(entry, file, o), partOf: [{ reference: docUrl }] };
    const id = media.identifier[0];
    if (!id) continue;
    entries.push({
      fullUrl: `urn:uuid:${stableUuid(id.value)}`,
      resource: media,
      request: { method: 'POST', url: 'Media', ifNoneExist: ifNew(id) },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
