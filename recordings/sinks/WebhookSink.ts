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
    const body = JSON.stringify(this.body(entry));
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 15_000);
    const response = await fetch(this.#options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'telemed-sfu case-record',
        [IDEMPOTENCY_HEADER]: entry.id,
        ...signWebhook(body, this.#options.secret, this.#options),
      },
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: 'error', // a redirect would re-send a signed record somewhere unconfigured
    });
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new Error(`webhook answered ${response.status}: ${text.slice(0, 200)}`);
  }
}
