/**
 * Where a cluster's ingests are known to every node. An encoder's URL names the public host, not a
 * node: its request may reach any node, and after the node running its programme dies or drains the
 * encoder's next attempt reaches another one. Each node therefore finds an ingest it did not create
 * here (its token checked against the hash kept with it), and a revocation made through any node
 * ends the programme wherever it runs.
 *
 * A single node needs none of this: `NO_DIRECTORY` knows nothing beyond what the node holds itself.
 */
import { z } from 'zod';
import { Site } from '../../signaling/protocol/schemas/domain.js';
import { INGEST_PROTOCOLS, INGEST_STATES, type IngestInfo, type RoomKind } from '../../signaling/protocol/index.js';

/** An ingest as the cluster keeps it: what it is, its token's hash, and its state when last told. */
export interface IngestRecord {
  /** As the node that wrote it last saw it (health is not kept: it goes to the room's moderators). */
  info: Omit<IngestInfo, 'health'>;
  roomKind: RoomKind;
  caseId: string | null;
  ttlSeconds: number;
  /** sha256 of the token, hex. */
  tokenHash: string;
  /** When `info` was written (ms): of two views of one ingest, the newer one is shown. */
  changedAt: number;
}

export interface IngestDirectory {
  /** Keeps a new ingest; rejects (UNAVAILABLE) if it cannot, and the ingest must not be handed out. */
  add(record: IngestRecord): Promise<void>;
  /** The ingest `id` if it exists and has not expired; rejects (UNAVAILABLE) when that cannot be told. */
  find(id: string): Promise<IngestRecord | undefined>;
  /** Every ingest that has not expired (of one room, or all). */
  list(room?: string): Promise<IngestRecord[]>;
  /** Its state changed where its programme runs: written over the entry unless it was revoked meanwhile. */
  update(record: IngestRecord): void;
  /** Deletes it and tells every node; false if it was not there. Rejects (UNAVAILABLE) if Redis is away. */
  remove(id: string): Promise<boolean>;
  /** Called with the id of every ingest revoked through another node (or while this one was cut off). */
  onRemoved(listener: (id: string) => void): void;
  close(): void;
}

/** One node: every ingest is in its own memory (IngestService), nothing is kept elsewhere. */
export const NO_DIRECTORY: IngestDirectory = {
  add: () => Promise.resolve(),
  find: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
  update: () => undefined,
  remove: () => Promise.resolve(false),
  onRemoved: () => undefined,
  close: () => undefined,
};

const RecordSchema = z.object({
  info: z.object({
    id: z.string().uuid(),
    room: z.string().min(1),
    protocol: z.enum(INGEST_PROTOCOLS),
    name: z.string(),
    site: Site,
    state: z.enum(INGEST_STATES),
    createdAt: z.string().datetime(),
    expiresAt: z.string().datetime(),
    createdBy: z.string(),
    participantId: z.string().nullable(),
    url: z.string(),
  }),
  roomKind: z.enum(['broadcast', 'training']),
  caseId: z.string().nullable(),
  ttlSeconds: z.number().int().positive(),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  changedAt: z.number(),
});

/** A stored entry, checked (it crossed a process boundary); throws if it is not an ingest. */
export function parseIngestRecord(text: string): IngestRecord {
  return RecordSchema.parse(JSON.parse(text)) as IngestRecord;
}

export const expired = (record: IngestRecord, now = Date.now()): boolean => Date.parse(record.info.expiresAt) <= now;
