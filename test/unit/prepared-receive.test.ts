/**
 * A receive transport prepared before its join is not kept for ever: closed when no join took it
 * within its lifetime; a join that took it stops that clock (test/integration/prepare-receive.test.ts
 * has the rest, against a real worker).
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import type { Room } from '../../server/rooms/Room.js';
import { PreparedReceive } from '../../server/signaling/PreparedReceive.js';

function fakeTransport(): types.WebRtcTransport & { closes: number } {
  const observer = new EventEmitter();
  const t = {
    closed: false,
    closes: 0,
    observer,
    close() {
      if (t.closed) return;
      t.closed = true;
      t.closes++;
      observer.emit('close');
    },
  };
  return t as unknown as types.WebRtcTransport & { closes: number };
}

const room = { closed: false } as unknown as Room;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a prepared receive transport', () => {
  it('is closed when no join takes it within its lifetime', async () => {
    const transport = fakeTransport();
    const prepared = new PreparedReceive(transport, room, 50);
    expect(prepared.usableIn(room)).toBe(true);
    await sleep(120);
    expect(transport.closes).toBe(1);
    expect(prepared.usableIn(room)).toBe(false);
  });

  it('once adopted by a join, outlives that lifetime; only its own room may adopt it', async () => {
    const transport = fakeTransport();
    const prepared = new PreparedReceive(transport, room, 50);
    expect(prepared.usableIn({ closed: false } as unknown as Room)).toBe(false);
    expect(prepared.adopted()).toBe(transport);
    await sleep(120);
    expect(transport.closes).toBe(0);
  });
});
