/**
 * A zod schema of the parts of HL7 FHIR R4 the FHIR sink emits, with the cardinalities, value sets
 * and invariants of the R4 specification (DocumentReference, Media, Bundle, Attachment, Reference).
 * The official fhir.schema.json (checked too) cannot express 1..1 on primitives, e.g. that
 * DocumentReference.status or Bundle.type is required; this fills that gap. Objects are strict: FHIR
 * JSON allows no unknown elements.
 */
import { z } from 'zod';

const instant = z
  .string()
  .regex(
    /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/,
  );
const dateTime = instant; // the sink always writes full instants
const uri = z.string().regex(/^\S*$/).min(1);
const code = z.string().regex(/^[^\s]+(\s[^\s]+)*$/);
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/);

const Identifier = z.object({ system: uri.optional(), value: z.string().min(1).optional() }).strict();
const Reference = z
  .object({
    reference: z.string().min(1).optional(),
    type: uri.optional(),
    identifier: Identifier.optional(),
    display: z.string().min(1).optional(),
  })
  .strict()
  // ele-1: an element must have content
  .refine((r) => r.reference || r.identifier || r.display, 'Reference must have reference, identifier or display');
const Coding = z.object({ system: uri.optional(), code: code.optional(), display: z.string().optional() }).strict();
const CodeableConcept = z.object({ coding: z.array(Coding).min(1).optional(), text: z.string().optional() }).strict();
const Period = z.object({ start: dateTime.optional(), end: dateTime.optional() }).strict();
const Extension = z.object({ url: uri, valueString: z.string().min(1) }).strict();

export const Attachment = z
  .object({
    extension: z.array(Extension).optional(),
    contentType: code.optional(),
    data: base64.optional(),
    url: z.string().url().optional(),
    size: z.number().int().nonnegative().optional(),
    // R4: "The calculated hash of the data using SHA-1. Represented using base64."
    hash: base64.refine((h) => Buffer.from(h, 'base64').length === 20, 'hash must be a base64 SHA-1 (20 bytes)').optional(),
    title: z.string().optional(),
    creation: dateTime.optional(),
  })
  .strict()
  .refine((a) => !a.data || a.contentType, 'att-1: data requires contentType');

export const DocumentReference = z
  .object({
    resourceType: z.literal('DocumentReference'),
    masterIdentifier: Identifier.optional(),
    identifier: z.array(Identifier).optional(),
    status: z.enum(['current', 'superseded', 'entered-in-error']), // 1..1
    docStatus: z.enum(['preliminary', 'final', 'amended', 'entered-in-error']).optional(),
    type: CodeableConcept.optional(),
    subject: Reference.optional(),
    date: instant.optional(),
    author: z.array(Reference).optional(),
    description: z.string().optional(),
    content: z.array(z.object({ attachment: Attachment, format: Coding.optional() }).strict()).min(1), // 1..*
    context: z
      .object({ encounter: z.array(Reference).optional(), period: Period.optional(), related: z.array(Reference).optional() })
      .strict()
      .optional(),
  })
  .strict();

export const Media = z
  .object({
    resourceType: z.literal('Media'),
    identifier: z.array(Identifier).optional(),
    partOf: z.array(Reference).optional(),
    status: z.enum(['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped', 'completed', 'entered-in-error', 'unknown']), // 1..1
    type: CodeableConcept.optional(),
    subject: Reference.optional(),
    encounter: Reference.optional(),
    createdPeriod: Period.optional(),
    createdDateTime: dateTime.optional(),
    operator: Reference.optional(),
    deviceName: z.string().optional(),
    duration: z.number().nonnegative().optional(),
    content: Attachment, // 1..1
  })
  .strict()
  .refine((m) => !(m.createdPeriod && m.createdDateTime), 'created[x] is a choice: one form only');

export const TransactionBundle = z
  .object({
    resourceType: z.literal('Bundle'),
    type: z.enum([
      'document',
      'message',
      'transaction',
      'transaction-response',
      'batch',
      'batch-response',
      'history',
      'searchset',
      'collection',
    ]),
    entry: z.array(
      z
        .object({
          fullUrl: uri.optional(),
          resource: z.union([DocumentReference, Media]),
          request: z
            .object({ method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']), url: uri, ifNoneExist: z.string().optional() })
            .strict()
            .optional(),
        })
        .strict(),
    ),
  })
  .strict()
  // bdl-3: entry.request mandatory for batch/transaction; bdl-7: fullUrl unique
  .refine((b) => b.type !== 'transaction' || b.entry.every((e) => e.request), 'bdl-3: transaction entries need a request')
  .refine((b) => new Set(b.entry.map((e) => e.fullUrl)).size === b.entry.length, 'bdl-7: fullUrl must be unique');
