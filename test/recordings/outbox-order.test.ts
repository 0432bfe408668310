/**
 * The outbox's order per key (the event webhooks' rooms): a key's later items wait until its first
 * is delivered, another key's items are not held back, and the order holds across a restart.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox, type OutboxSink } from '../../recordings/index.js';
import { removeTempDirs, tempDir, testLog } from './helpers/files.js';
import { until } from '../helpers/until.js';

interface RoomItem {
  id: string;
  room: string;
  n: number;
}

/** A receiver in memory that refuses one room's items while `down` holds that room. */
class Receiver implements OutboxSink<RoomItem> {
  readonly name = 'events';
  readonly accepted: RoomItem[] = [];
  readonly down = new Set<string>();
  refused = 0;
  /** Which items of a refused room were tried. */
  readonly tried = new Set<number>();

  deliver(item: RoomItem): Promise<void> {
    if (this.down.has(item.room)) {
      this.refused++;
      this.tried.add(item.n);
      return Promise.reject(new Error(`room ${item.room}: 500`));
    }
    this.accepted.push(item);
    return Promise.resolve();
  }

  of(room: string): number[] {
    return this.accepted.filter((i) => i.room === room).map((i) => i.n);
  }
}

const outboxes: Outbox<RoomItem>[] = [];
afterAll(async () => {
  for (const o of outboxes) await o.close();
  removeTempDirs();
});

function open(dir: string, sink: Receiver): Outbox<RoomItem> {
  const outbox = Outbox.open<RoomItem>({
    dir,
    sinks: [sink],
    log: testLog,
    label: 'room event',
    orderKey: (item) => item.room,
    concurrency: 2,
    keepDelivered: false,
    baseDelayMs: 30,
    maxDelayMs: 200,
  });
  outboxes.push(outbox);
  return outbox;
}

// Ids that sort in the order they are made, as the event webhooks' do.
const item = (room: string, n: number, seq: number): RoomItem => ({ id: `ev-${String(seq).padStart(4, '0')}`, room, n });

describe('outbox order per key', () => {
  it("holds a room's later items behind its failing first one, lets other rooms through, and keeps the order across a restart", async () => {
    const dir = tempDir();
    const receiver = new Receiver();
    receiver.down.add('mdt-wangfang'); // this room's receiver answers 500s
    const first = open(dir, receiver);
    let seq = 0;
    for (let n = 1; n <= 5; n++) {
      first.enqueue(item('mdt-wangfang', n, seq++));
      first.enqueue(item('followup-zhaolei', n, seq++));
    }
    // The other room's items all arrive, in order, while the first room's wait (and are retried).
    await until('the other room delivered', () => receiver.of('followup-zhaolei').length === 5 || undefined);
    expect(receiver.of('followup-zhaolei')).toEqual([1, 2, 3, 4, 5]);
    await until('retries of the failing room', () => receiver.refused >= 3 || undefined);
    expect(receiver.of('mdt-wangfang')).toEqual([]);
    // Only the room's first item was ever tried: the later ones waited behind it.
    expect([...receiver.tried]).toEqual([1]);
    expect(first.pendingCount()).toBe(5);
    await first.close();
    // Delivered items are not kept (keepDelivered: false); the waiting ones are on disk.
    expect(readdirSync(path.join(dir, 'pending', 'events'))).toHaveLength(5);
    expect(readdirSync(path.join(dir, 'delivered', 'events'))).toHaveLength(0);

    // A restart reads them back in order; the receiver recovers; they arrive in order, once each.
    const second = open(dir, receiver);
    second.enqueue(item('mdt-wangfang', 6, seq));
    receiver.down.clear();
    expect(await second.whenIdle(10_000)).toBe(true);
    expect(receiver.of('mdt-wangfang')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(receiver.accepted).toHaveLength(11);
  });
});
