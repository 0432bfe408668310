/**
 * RoomEventSource against a stand-in room (no worker needed): HLS output that ends with the room is
 * told before the room's end, a room that moves to another node finishes as `moved`, and an event
 * that cannot be queued never fails the room's own action.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import type { RoomRecord } from '../../server/records/RoomRecord.js';
import type { Participant } from '../../server/rooms/Participant.js';
import type { Room } from '../../server/rooms/Room.js';
import { RoomEventSource, type EventChannel } from '../../server/events/RoomEventSource.js';
import type { RoomEvent } from '../../server/events/types.js';

class FakeRoom extends EventEmitter {
  readonly id = 'broadcast-jiankang-1130';
  readonly kind = 'broadcast';
  readonly caseId = undefined;
  readonly openedAt = new Date();
  readonly recording = null;
  carry: object | null = null;
  durableSnapshot() {
    return { carry: this.carry };
  }
}

const presenter = {
  id: 'p-1',
  info: {
    id: 'p-1',
    identity: 'staff-40112',
    displayName: '李娜',
    role: 'presenter',
    site: { id: 'prov-rm', name: '省人民医院', level: 'tertiary_hospital' },
    joinedAt: new Date().toISOString(),
  },
} as unknown as Participant;

function channel(fail = false): EventChannel & { sent: RoomEvent[] } {
  let n = 0;
  const sent: RoomEvent[] = [];
  return {
    node: 'node-a',
    includeNames: false,
    sent,
    wants: () => true,
    nextId: () => `ev-${n++}`,
    send: (event) => {
      if (fail) throw new Error('ENOSPC: no space left on device');
      sent.push(event);
    },
  };
}

const log = createLogger('silent');
function watch(ch: EventChannel): FakeRoom & { source: RoomEventSource } {
  const fake = new FakeRoom();
  const source = new RoomEventSource(fake as unknown as Room, {} as RoomRecord, ch, 'session-1', log);
  return Object.assign(fake, { source });
}

describe('RoomEventSource', () => {
  it('tells HLS output ending with the room before the room finished, and only once', () => {
    const ch = channel();
    const room = watch(ch);
    room.emit('participantJoined', presenter);
    room.source.hlsStarted('/hls/broadcast-jiankang-1130-abc/index.m3u8', presenter);
    room.emit('closed');
    room.source.hlsStopped(undefined); // HlsService's own cleanup, after the room's end
    expect(ch.sent.map((e) => e.type)).toEqual(['room_started', 'participant_joined', 'hls_started', 'hls_stopped', 'room_finished']);
    expect(ch.sent.map((e) => e.room.seq)).toEqual([1, 2, 3, 4, 5]);
    const stopped = ch.sent[3];
    expect(stopped?.type === 'hls_stopped' && stopped.by).toBeNull();
    const started = ch.sent[2];
    expect(started?.type === 'hls_started' && started.by).toMatchObject({ role: 'presenter', site: { level: 'tertiary_hospital' } });
    expect(JSON.stringify(ch.sent)).not.toContain('李娜');
  });

  it('a room closed to move to another node finishes as moved', () => {
    const ch = channel();
    const room = watch(ch);
    room.carry = { lock: { locked: false }, recording: null };
    room.emit('closed');
    const finished = ch.sent.at(-1);
    expect(finished?.type === 'room_finished' && finished.reason).toBe('moved');
  });

  it('an event that cannot be queued is lost, not thrown into the room', () => {
    const ch = channel(true);
    const room = watch(ch);
    expect(() => room.emit('participantJoined', presenter)).not.toThrow();
    expect(() => room.emit('closed')).not.toThrow();
    expect(ch.sent).toEqual([]);
  });
});
