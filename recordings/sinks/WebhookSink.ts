/**
 * Delivers case records to the hospital's system as a signed JSON POST. Any answer but 2xx, a
 * refused connection or a timeout is a failure (the outbox retries). The body carries metadata and
 * hashes, not media: file locations are URLs if `fileUrl` is given (e.g. the archive's address).
 */
import type { CaseRecordEntry, CaseRecordFile, CaseRecordSink } from '../CaseRecord.js';
import { withoutFile, type TrailHead } from '../trailChain.js';
import { IDEMPOTENCY_HEADER, signWebhook, type WebhookSigningOptions } from './webhookSignature.js';

export interface WebhookSinkOptions extends WebhookSigningOptions {
  url: string;
  /** Shared with the receiver; at least 32 characters. */
  secret: string;
  name?: string;
  timeoutMs?: number;
  /** Where the receiver can fetch a file; without it the body lists names and hashes only. */
  fileUrl?: (entry: CaseRecordEntry, file: CaseRecordFile) => string | undefined;
}

/**
 * What the receiver gets: the entry without this server's local paths. `entry.trail` is the audit
 * trail's head as handed over: its final hash and the id of the key its seal was made with.
 */
export interface WebhookBody {
  event: 'case_record';
  entry: Omit<CaseRecordEntry, 'files' | 'trail'> & { files: (Omit<CaseRecordFile, 'path'> & { url?: string })[]; trail?: TrailHead };
}

export class WebhookSink implements CaseRecordSink {
  readonly name: string;
  readonly #options: WebhookSinkOptions;

  constructor(options: WebhookSinkOptions) {
    if (options.secret.length < 32) throw new Error('webhook secret must be at least 32 characters');
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`webhook URL must be http(s): ${options.url}`);
    this.name = options.name ?? 'webhook';
    this.#options = options;
  }

  body(entry: CaseRecordEntry): WebhookBody {
    const files = entry.files.map(({ path: _local, ...file }) => {
      const url = this.#options.fileUrl?.(entry, { path: _local, ...file });
      return url ? { ...file, url } : file;
    });
    const { trail, ...rest } = entry;
    return { event: 'case_record', entry: { ...rest, files, ...(trail ? { trail: withoutFile(trail) } : {}) } };
  }

  async deliver(entry: CaseRecordEntry, signal?: AbortSignal): Promise<void> {
    await postSignedJson(this.#options, JSON.stringify(this.body(entry)), entry.id, 'case-record', signal);
  }
}

/** Where and how a signed POST goes: the receiver's URL, the shared secret, the JWT's issuer/audience. */
export interface SignedPostTarget extends WebhookSigningOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
}

/**
 * POSTs a JSON body signed as `webhookSignature.ts` describes, with `id` as the idempotency key.
 * Resolves on 2xx; a refused connection, a timeout, a redirect or any other answer rejects (the
 * outbox retries). Shared by every webhook this server sends, so all are signed and sent alike.
 */
export async function postSignedJson(
  target: SignedPostTarget,
  body: string,
  id: string,
  purpose: string,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<void> {
  const timeout = AbortSignal.timeout(target.timeoutMs ?? 15_000);
  const response = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': `telemed-sfu ${purpose}`,
      [IDEMPOTENCY_HEADER]: id,
      ...headers,
      ...signWebhook(body, target.secret, target),
    },
    body,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    redirect: 'error', // a redirect would re-send a signed body somewhere unconfigured
  });
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`webhook answered ${response.status}: ${text.slice(0, 200)}`);
}
