/**
 * The operators' view of the case record (`/admin/case-records…`, behind the admin token): the
 * entries handed over lately and, per remote sink (webhook, FHIR), what waits in the durable outbox
 * — how many, since when, the last error — and a retry of one entry now instead of at its next
 * backoff (after the hospital's system is back, say). Each retry is logged with the operator.
 */
import express from 'express';
import { notFound } from '../../signaling/protocol/index.js';
import type { PendingDelivery } from '../../recordings/Outbox.js';
import type { Logger } from '../logger.js';
import type { HandedOffEntry } from '../records/CaseRecordService.js';
import { operatorOf, sendAdminError } from './adminReply.js';

/**
 * What this view reads of the durable outbox (recordings/Outbox.ts) and the one thing it may do to
 * it: kept this small so the outbox can change underneath (it also carries event webhooks) as long
 * as it still answers these.
 */
export interface AdminOutbox {
  deliveries(): { sink: string; pending: PendingDelivery[] }[];
  retryNow(entryId: string): string[];
  isDelivered(sink: string, entryId: string): boolean;
  on(event: 'retrying', listener: (sink: string, entryId: string, error: Error, attempt: number, delayMs: number) => void): unknown;
  on(event: 'delivered', listener: (sink: string, entryId: string, attempts: number) => void): unknown;
}

interface DeliveryError {
  entryId: string;
  message: string;
  at: number;
}

/** The last failure per sink and per waiting entry, heard from the outbox as it retries. */
class DeliveryErrors {
  readonly #bySink = new Map<string, DeliveryError>();
  readonly #byEntry = new Map<string, DeliveryError>();

  constructor(outbox: AdminOutbox | undefined) {
    outbox?.on('retrying', (sink, entryId, error) => {
      const failure = { entryId, message: error.message, at: Date.now() };
      this.#bySink.set(sink, failure);
      this.#byEntry.set(key(sink, entryId), failure);
    });
    outbox?.on('delivered', (sink, entryId) => this.#byEntry.delete(key(sink, entryId)));
  }

  ofSink(sink: string): DeliveryError | null {
    return this.#bySink.get(sink) ?? null;
  }

  ofEntry(sink: string, entryId: string): DeliveryError | null {
    return this.#byEntry.get(key(sink, entryId)) ?? null;
  }
}

const key = (sink: string, entryId: string) => `${sink}\n${entryId}`;

export interface AdminCaseRecords {
  readonly outbox: AdminOutbox | undefined;
  recent(): readonly HandedOffEntry[];
  /** Recordings still being ended, hashed and archived. */
  finishing(): { recordings: number };
}

const iso = (ms: number) => new Date(ms).toISOString();
const ageSeconds = (ms: number, now: number) => Math.max(0, Math.round((now - ms) / 1000));

const errorView = (e: DeliveryError | null) => (e ? { entryId: e.entryId, message: e.message, at: iso(e.at) } : null);

function pendingView(sink: string, p: PendingDelivery, errors: DeliveryErrors, now: number) {
  return {
    entryId: p.entryId,
    attempts: p.attempts,
    queuedAt: iso(p.queuedAt),
    ageSeconds: ageSeconds(p.queuedAt, now),
    nextAttemptAt: p.dueAt > 0 ? iso(p.dueAt) : null,
    lastError: errorView(errors.ofEntry(sink, p.entryId)),
  };
}

function outboxView(outbox: AdminOutbox, errors: DeliveryErrors, now: number) {
  const sinks = outbox.deliveries().map((d) => {
    const oldest = Math.min(...d.pending.map((p) => p.queuedAt));
    return {
      sink: d.sink,
      pending: d.pending.length,
      oldestAgeSeconds: d.pending.length ? ageSeconds(oldest, now) : null,
      lastError: errorView(errors.ofSink(d.sink)),
      entries: d.pending.map((p) => pendingView(d.sink, p, errors, now)),
    };
  });
  const ages = sinks.flatMap((s) => (s.oldestAgeSeconds === null ? [] : [s.oldestAgeSeconds]));
  return { pending: sinks.reduce((n, s) => n + s.pending, 0), oldestAgeSeconds: ages.length ? Math.max(...ages) : null, sinks };
}

/** Each recent entry with where it stands per remote sink. */
function recentView(records: AdminCaseRecords, waiting: Map<string, Set<string>>) {
  const outbox = records.outbox;
  return records.recent().map((entry) => ({
    ...entry,
    deliveries: [...waiting].map(([sink, ids]) => ({
      sink,
      state: ids.has(entry.id) ? 'pending' : outbox?.isDelivered(sink, entry.id) ? 'delivered' : 'unknown',
    })),
  }));
}

export function adminRecordsRouter(records: AdminCaseRecords, log: Logger): express.Router {
  const router = express.Router();
  const errors = new DeliveryErrors(records.outbox);

  router.get('/admin/case-records', (_req, res) => {
    const now = Date.now();
    const deliveries = records.outbox?.deliveries() ?? [];
    const waiting = new Map(deliveries.map((d) => [d.sink, new Set(d.pending.map((p) => p.entryId))]));
    res.json({
      finishing: { recordings: records.finishing().recordings },
      recent: recentView(records, waiting),
      outbox: records.outbox ? outboxView(records.outbox, errors, now) : null,
    });
  });

  router.post('/admin/case-records/:entryId/retry', (req, res) => {
    const entryId = String(req.params['entryId']);
    const sinks = records.outbox?.retryNow(entryId) ?? [];
    if (sinks.length === 0) return sendAdminError(res, notFound('no delivery of this entry is waiting (delivered already, or unknown)'));
    log.warn({ admin: operatorOf(res), entry: entryId, sinks }, 'case-record delivery retried now through the admin API');
    res.status(202).json({ entryId, sinks });
  });

  return router;
}
