/**
 * The hospital side, for tests: a webhook receiver that verifies each signature and keeps one copy
 * per idempotency key, and a FHIR endpoint that validates what it gets against the R4 shape.
 */
import { randomBytes } from 'node:crypto';
import { verifyWebhook } from '../../recordings/sinks/webhookSignature.js';
import type { WebhookBody } from '../../recordings/sinks/WebhookSink.js';
import { DocumentReference } from '../recordings/helpers/fhirR4.js';
import { createReceiver, type Receiver } from '../recordings/helpers/receiver.js';

export interface WebhookReceiver extends Receiver {
  secret: string;
  /** Verified entries by id, and how many times each arrived. */
  entries: Map<string, WebhookBody['entry']>;
  deliveries: Map<string, number>;
  rejected: string[];
}

export async function webhookReceiver(): Promise<WebhookReceiver> {
  const secret = randomBytes(32).toString('hex');
  const entries = new Map<string, WebhookBody['entry']>();
  const deliveries = new Map<string, number>();
  const rejected: string[] = [];
  const receiver = await createReceiver((req) => {
    const check = verifyWebhook(req.body, req.headers, secret);
    if (!check.ok) {
      rejected.push(check.reason);
      return { status: 401 };
    }
    const body = JSON.parse(req.body.toString('utf8')) as WebhookBody;
    deliveries.set(body.entry.id, (deliveries.get(body.entry.id) ?? 0) + 1);
    entries.set(body.entry.id, body.entry);
    return { status: 200 };
  });
  return Object.assign(receiver, { secret, entries, deliveries, rejected });
}

export interface FhirReceiver extends Receiver {
  /** DocumentReferences received, with their validation result against the R4 shape. */
  documents: { resource: unknown; valid: boolean; problems: string }[];
}

export async function fhirReceiver(): Promise<FhirReceiver> {
  const documents: FhirReceiver['documents'] = [];
  const receiver = await createReceiver((req) => {
    const resource: unknown = JSON.parse(req.body.toString('utf8'));
    const check = DocumentReference.safeParse(resource);
    documents.push({ resource, valid: check.success, problems: check.success ? '' : check.error.message });
    return { status: 201, body: resource, headers: { 'content-type': 'application/fhir+json' } };
  });
  return Object.assign(receiver, { documents });
}
