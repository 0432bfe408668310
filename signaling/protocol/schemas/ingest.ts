/**
 * Validators for creating an ingest, by a moderator's signaling request (`createIngest`) or the
 * hospital system's REST call (`POST /ingest`, which also names the room). Checked at compile time
 * against ../types/requests.ts like every request.
 */
import { z } from 'zod';
import { INGEST_PROTOCOLS } from '../types/ingest.js';
import { RoomId, Site } from './domain.js';

/** Longest an ingest token may live, whatever is asked (the server may bound it lower). */
export const INGEST_TTL_MAX_SECONDS = 7 * 86_400;
/** A presenter's name as shown: printable, no line breaks. */
const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}\u2028\u2029]*$/u, 'must not contain control characters');

export const IngestRequest = z
  .object({
    protocol: z.enum(INGEST_PROTOCOLS),
    name: DisplayName,
    site: Site.optional(),
    ttlSeconds: z.number().int().min(60).max(INGEST_TTL_MAX_SECONDS).optional(),
  })
  .strict();

/** `POST /ingest`: the same, for a named room; an admin token must also say the room's kind if it is not open. */
export const IngestRestRequest = IngestRequest.extend({
  room: RoomId,
  kind: z.enum(['broadcast', 'training']).optional(),
  /** Optional with a moderator's token (their own site, as over signaling); an admin token must say it. */
  site: Site.optional(),
}).strict();
export type IngestRestRequest = z.infer<typeof IngestRestRequest>;
