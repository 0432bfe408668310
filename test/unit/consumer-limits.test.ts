/**
 * A participant's consumer bookkeeping (the rule behind `consume`, without a worker): one consumer per
 * producer, at most MAX_CONSUMERS at once, and both freed when a consumer closes. Consumers are fakes
 * with what Participant uses of them: an id and an observer that emits 'close'. The same rules over
 * real signaling and a real worker: test/integration/hostile-input.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type ErrorCode } from '../../signaling/protocol/index.js';
import { MAX_CONSUMERS, Participant, type ParticipantChannel } from '../../server/rooms/Participant.js';

class FakeConsumer {
  static #next = 0;
  readonly id = `consumer-${++FakeConsumer.#next}`;
  readonly observer = new EventEmitter();
  close(): void {
    this.observer.emit('close');
  }
}

const channel: ParticipantChannel = { notify: () => undefined, end: () => undefined, close: () => undefined };

function zhaoLei(): Participant {
  const participant = new Participant(
    {
      sub: 'zhao-lei',
      name: '赵磊',
      role: 'specialist',
      site: { id: 'apch', name: '安平县医院', level: 'county_hospital' },
      room: 'mdt-limits',
      kind: 'consultation',
      caseId: 'CASE-LIMITS',
    },
    channel,
  );
  participant.admit();
  return participant;
}

function receive(participant: Participant, producerId: string): FakeConsumer {
  const consumer = new FakeConsumer();
  participant.addConsumer(consumer as unknown as types.Consumer, producerId);
  return consumer;
}

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  return 'none';
}

describe('consumer bookkeeping', () => {
  it('keeps one consumer per producer, until that consumer closes', () => {
    const zhao = zhaoLei();
    const first = receive(zhao, 'producer-wang-mic');
    expect(codeOf(() => zhao.mayConsume('producer-wang-mic'))).toBe('WRONG_STATE');
    // Made anyway (a consume that raced another): refused on keeping, and nothing is counted.
    expect(codeOf(() => receive(zhao, 'producer-wang-mic'))).toBe('WRONG_STATE');
    expect(zhao.consumerCount).toBe(1);
    expect(codeOf(() => zhao.mayConsume('producer-wang-camera'))).toBe('none');
    first.close();
    expect(zhao.consumerCount).toBe(0);
    expect(codeOf(() => receive(zhao, 'producer-wang-mic'))).toBe('none');
  });

  it(`receives at most ${MAX_CONSUMERS} tracks at once; a closed one frees its place`, () => {
    const zhao = zhaoLei();
    const consumers = Array.from({ length: MAX_CONSUMERS }, (_, i) => receive(zhao, `producer-${i}`));
    expect(zhao.consumerCount).toBe(MAX_CONSUMERS);
    expect(codeOf(() => zhao.mayConsume('producer-one-more'))).toBe('TOO_MANY_REQUESTS');
    expect(codeOf(() => receive(zhao, 'producer-one-more'))).toBe('TOO_MANY_REQUESTS');
    expect(zhao.consumerCount).toBe(MAX_CONSUMERS);
    consumers[7]?.close();
    expect(codeOf(() => receive(zhao, 'producer-one-more'))).toBe('none');
    expect(zhao.consumerCount).toBe(MAX_CONSUMERS);
  });

  it('refuses consumers once the participant left', () => {
    const zhao = zhaoLei();
    zhao.close('left');
    expect(codeOf(() => receive(zhao, 'producer-wang-mic'))).toBe('WRONG_STATE');
    expect(zhao.consumerCount).toBe(0);
  });
});
