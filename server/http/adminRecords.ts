/**
 * The operators' view of the case record (`/admin/case-records…`, behind the admin token): the
 * entries handed over lately and, per remote sink (webhook, FHIR), what waits in the durable outbox
 * — how many, since when, the last error — and a retry of one entry now instead of at its next
 * backoff (after the hospital's system is back, say). Each retry is logged with the operator.
 */
import express from 'express';
import { notFound } from '../../signaling/protocol/index.js';
import type { PendingDelivery, SinkDeliveries } from '../../recordings/Outbox.js';
import type { Logger } from '../logger.js';
import type { HandedOffEntry } from '../records/CaseRecordService.js';
import { operatorOf, sendAdminError } from './adminReply.js';

/**
 * What this view reads of the durable outbox (recordings/Outbox.ts) and the one thing it may do to
 * it: kept this small so the outbox can change underneath (it also carries event webhooks) as long
 * as it still answers these.
 */
export interface AdminOutbox {
  deliveries(): SinkDeliveries[];
  retryNow(entryId: string): string[];
  isDelivered(sink: string, entryId: string): boolean;
}

export interface AdminCaseRecords {
  readonly outbox: AdminOutbox | undefined;
  recent(): readonly HandedOffEntry[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const ageSeconds = (ms: number, now: number) => Math.max(0, Math.round((now - ms) / 1000));

function pendingView(p: PendingDelivery, now: number) {
  return {
    entryId: p.entryId,
    attempts: p.attempts,
    queuedAt: iso(p.queuedAt),
    ageSeconds: ageSeconds(p.queuedAt, now),
    nextAttemptAt: p.dueAt > 0 ? iso(p.dueAt) : null,
    lastError: p.lastError ? { message: p.lastError.message, at: iso(p.lastError.at) } : null,
  };
}

function outboxView(outbox: AdminOutbox, now: number) {
  const sinks = outbox.deliveries().map((d) => {
    const oldest = Math.min(...d.pending.map((p) => p.queuedAt));
    return {
      sink: d.sink,
      pending: d.pending.length,
      oldestAgeSeconds: d.pending.length ? ageSeconds(oldest, now) : null,
      lastError: d.lastError ? { entryId: d.lastError.entryId, message: d.lastError.message, at: iso(d.lastError.at) } : null,
      entries: d.pending.map((p) => pendingView(p, now)),
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

  router.get('/admin/case-records', (_req, res) => {
    const now = Date.now();
    const deliveries = records.outbox?.deliveries() ?? [];
    const waiting = new Map(deliveries.map((d) => [d.sink, new Set(d.pending.map((p) => p.entryId))]));
    res.json({
      recent: recentView(records, waiting),
      outbox: records.outbox ? outboxView(records.outbox, now) : null,
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
