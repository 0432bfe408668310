/**
 * Delivers case records to a FHIR R4 server. `document` mode POSTs one DocumentReference with
 * `If-None-Exist` on its identifier (conditional create: a repeat delivery finds the first and
 * creates nothing); `transaction` mode POSTs a Bundle holding it and one Media per track, each entry
 * with its own `ifNoneExist`. Any answer but 2xx is a failure for the outbox to retry.
 */
import type { CaseRecordEntry, CaseRecordSink } from '../CaseRecord.js';
import {
  buildDocumentReference,
  buildTransactionBundle,
  DEFAULT_SYSTEM_BASE,
  entryIdentifier,
  type FhirBundle,
  type FhirDocumentReference,
  type FhirMappingOptions,
} from './fhir.js';

export interface FhirSinkOptions extends Partial<FhirMappingOptions> {
  /** e.g. https://fhir.hospital.example/R4 */
  baseUrl: string;
  mode?: 'document' | 'transaction';
  name?: string;
  /** Extra headers, e.g. `{ authorization: 'Bearer …' }` for the FHIR server. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class FhirSink implements CaseRecordSink {
  readonly name: string;
  readonly #options: FhirSinkOptions;
  readonly #mapping: FhirMappingOptions;
  readonly #base: string;

  constructor(options: FhirSinkOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`FHIR base URL must be http(s): ${options.baseUrl}`);
    this.name = options.name ?? 'fhir';
    this.#options = options;
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#mapping = { ...options, systemBase: options.systemBase ?? DEFAULT_SYSTEM_BASE };
  }

  /** The resource this sink would send for an entry (inspect it, validate it, log it). */
  build(entry: CaseRecordEntry): FhirDocumentReference | FhirBundle {
    return this.#options.mode === 'transaction'
      ? buildTransactionBundle(entry, this.#mapping)
      : buildDocumentReference(entry, this.#mapping);
  }

  async deliver(entry: CaseRecordEntry, signal?: AbortSignal): Promise<void> {
    const resource = this.build(entry);
    const id = entryIdentifier(entry, this.#mapping);
    const headers: Record<string, string> = {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      ...this.#options.headers,
    };
    if (resource.resourceType === 'DocumentReference') {
      headers['if-none-exist'] = `identifier=${encodeURIComponent(id.system)}|${encodeURIComponent(id.value)}`;
    }
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 15_000);
    const response = await fetch(resource.resourceType === 'Bundle' ? this.#base : `${this.#base}/DocumentReference`, {
      method: 'POST',
      headers,
      body: JSON.stringify(resource),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: 'error',
    });
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new Error(`FHIR server answered ${response.status}: ${text.slice(0, 300)}`);
  }
}
