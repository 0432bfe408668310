/**
 * The browser SDK's logic that needs no browser: the room model merged from snapshots, remote
 * tracks reconciled after a resume (with a fake media session and fake MediaStreamTracks), and the
 * reconnect policy and retry loop (with fake timers).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ProtocolError,
  type ChatMessage,
  type ConnectionQuality,
  type ConsumeResult,
  type JoinResult,
  type LineQualityReport,
  type ParticipantInfo,
  type ProducerInfo,
} from '../../signaling/protocol/index.js';
import { RoomModel } from '../../client-sdk/src/RoomModel.js';
import { RemoteTracks, type RemoteTrack, type TrackListener } from '../../client-sdk/src/RemoteTracks.js';
import type { MediaSession } from '../../client-sdk/src/MediaSession.js';
import { defaultReconnectPolicy } from '../../client-sdk/src/reconnect.js';

function person(id: string, displayName = `Dr ${id}`): ParticipantInfo {
  return {
    id,
    identity: `${id}@hospital`,
    displayName,
    role: 'clinic_doctor',
    site: { id: 'site-1', name: 'Township Health Centre', level: 'township_health_centre' },
    joinedAt: '2026-01-01T00:00:00.000Z',
  };
}

function chat(id: string, from = 'wang', text = `text ${id}`): ChatMessage {
  return {
    id,
    participantId: from,
    displayName: `Dr ${from}`,
    role: 'specialist',
    siteName: 'County Hospital',
    text,
    at: '2026-01-01T09:00:00.000Z',
  };
}

/** A snapshot with what RoomModel reads; the rest of JoinResult does not concern it. */
function snapshot(
  part: Pick<JoinResult, 'participants'> & Partial<Pick<JoinResult, 'raisedHands' | 'chat' | 'roomLocked' | 'lineQuality'>>,
): JoinResult {
  return { raisedHands: [], chat: [], roomLocked: false, lineQuality: [], ...part } as JoinResult;
}

const line = (participantId: string, quality: ConnectionQuality): LineQualityReport => ({
  participantId,
  quality,
  rttMs: 20,
  lossPercent: 0,
});

describe('RoomModel', () => {
  it('takes everyone in the first snapshot as joined', () => {
    const model = new RoomModel();
    const diff = model.apply(snapshot({ participants: [person('a'), person('b')], raisedHands: ['b'], chat: [chat('m1')] }));
    expect(diff.joined.map((p) => p.id)).toEqual(['a', 'b']);
    expect(diff.left).toEqual([]);
    expect(diff.newChat.map((m) => m.id)).toEqual(['m1']);
    expect(diff.lockChanged).toBe(false);
    expect([...model.participants.keys()]).toEqual(['a', 'b']);
    expect([...model.raisedHands]).toEqual(['b']);
    expect(model.chat.map((m) => m.id)).toEqual(['m1']);
  });

  it('reports a locked room in the first snapshot as a change', () => {
    const model = new RoomModel();
    expect(model.apply(snapshot({ participants: [], roomLocked: true })).lockChanged).toBe(true);
    expect(model.locked).toBe(true);
  });

  it('after a resume, returns only what changed while the connection was down', () => {
    const model = new RoomModel();
    model.apply(
      snapshot({ participants: [person('a'), person('b'), person('c')], raisedHands: ['a', 'c'], chat: [chat('m1'), chat('m2')] }),
    );
    const diff = model.apply(
      snapshot({
        participants: [person('a'), person('c', 'Dr C (renamed)'), person('d')],
        raisedHands: ['d'],
        chat: [chat('m1'), chat('m2'), chat('m3')],
        roomLocked: true,
      }),
    );
    expect(diff.joined.map((p) => p.id)).toEqual(['d']);
    expect(diff.left.map((p) => p.id)).toEqual(['b']);
    expect(diff.newChat.map((m) => m.id)).toEqual(['m3']);
    expect(diff.lockChanged).toBe(true);
    // The model now mirrors the server: newest participant info, hands as they are now.
    expect([...model.participants.keys()]).toEqual(['a', 'c', 'd']);
    expect(model.participants.get('c')!.displayName).toBe('Dr C (renamed)');
    expect([...model.raisedHands]).toEqual(['d']);
    expect(model.chat.map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
  });

  it('keeps older chat that the server no longer replays (its history is bounded)', () => {
    const model = new RoomModel();
    model.apply(snapshot({ participants: [], chat: [chat('m1'), chat('m2')] }));
    const diff = model.apply(snapshot({ participants: [], chat: [chat('m2'), chat('m3')] }));
    expect(diff.newChat.map((m) => m.id)).toEqual(['m3']);
    expect(model.chat.map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
  });

  it('an identical snapshot changes nothing', () => {
    const model = new RoomModel();
    const s = snapshot({ participants: [person('a')], raisedHands: ['a'], chat: [chat('m1')], roomLocked: true });
    model.apply(s);
    expect(model.apply(s)).toEqual({ joined: [], left: [], newChat: [], lockChanged: false, linesChanged: [] });
  });

  it('takes the line grades of the snapshot, reporting those that changed; forget() drops what it knew of someone', () => {
    const model = new RoomModel();
    const first = model.apply(snapshot({ participants: [person('a'), person('b')], lineQuality: [line('a', 'good'), line('b', 'poor')] }));
    expect(first.linesChanged.map((r) => r.participantId)).toEqual(['a', 'b']);
    const again = model.apply(snapshot({ participants: [person('a'), person('b')], lineQuality: [line('a', 'good'), line('b', 'fair')] }));
    expect(again.linesChanged).toEqual([line('b', 'fair')]);
    expect(model.lines.get('b')?.quality).toBe('fair');
    model.raisedHands.add('b');
    expect(model.forget('b')?.id).toBe('b');
    expect([model.participants.has('b'), model.raisedHands.has('b'), model.lines.has('b')]).toEqual([false, false, false]);
    expect(model.forget('b')).toBeUndefined();
  });

  it('addChat() ignores a message it already has (a live message the resume replays)', () => {
    const model = new RoomModel();
    expect(model.addChat(chat('m1'))).toBe(true);
    expect(model.addChat(chat('m1'))).toBe(false);
    expect(model.apply(snapshot({ participants: [], chat: [chat('m1')] })).newChat).toEqual([]);
    expect(model.chat).toHaveLength(1);
  });
});

// --- RemoteTracks ---------------------------------------------------------------------------------

interface FakeConsumer {
  id: string;
  track: MediaStreamTrack;
  closed: boolean;
  close(): void;
}

/** MediaSession's consume/closeConsumer, with each consume answered when the test says so. */
class FakeMedia {
  readonly consumeCalls: string[] = [];
  readonly closedConsumers: string[] = [];
  readonly consumers: FakeConsumer[] = [];
  readonly #waiting = new Map<
    string,
    { resolve: (v: { consumer: FakeConsumer; info: ConsumeResult }) => void; reject: (e: unknown) => void }
  >();
  #next = 0;

  consume(producerId: string): Promise<{ consumer: FakeConsumer; info: ConsumeResult }> {
    this.consumeCalls.push(producerId);
    return new Promise((resolve, reject) => this.#waiting.set(producerId, { resolve, reject }));
  }

  closeConsumer(id: string): void {
    this.closedConsumers.push(id);
  }

  /** The server answers the consume of `producer`. */
  async answer(producer: ProducerInfo, producerPaused = producer.paused): Promise<FakeConsumer> {
    const id = `consumer-${++this.#next}`;
    const consumer: FakeConsumer = {
      id,
      // Only passed through to the application: a stand-in is enough.
      track: { id: `track-${id}`, kind: producer.kind } as MediaStreamTrack,
      closed: false,
      close() {
        this.closed = true;
      },
    };
    this.consumers.push(consumer);
    const info: ConsumeResult = {
      id,
      producerId: producer.id,
      participantId: producer.participantId,
      kind: producer.kind,
      source: producer.source,
      rtpParameters: {} as ConsumeResult['rtpParameters'],
      producerPaused,
    };
    this.#take(producer.id).resolve({ consumer, info });
    await settle();
    return consumer;
  }

  async fail(producerId: string, error: unknown): Promise<void> {
    this.#take(producerId).reject(error);
    await settle();
  }

  #take(producerId: string) {
    const waiting = this.#waiting.get(producerId);
    if (!waiting) throw new Error(`no consume of ${producerId} is waiting`);
    this.#waiting.delete(producerId);
    return waiting;
  }
}

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

class Events implements TrackListener {
  readonly log: string[] = [];
  readonly errors: Error[] = [];
  added(t: RemoteTrack): void {
    this.log.push(`added ${t.producerId} ${t.participant.id} ${t.source}${t.paused ? ' paused' : ''}`);
  }
  removed(t: RemoteTrack): void {
    this.log.push(`removed ${t.producerId}`);
  }
  paused(t: RemoteTrack): void {
    this.log.push(`${t.paused ? 'paused' : 'resumed'} ${t.producerId}`);
  }
  error(e: Error): void {
    this.errors.push(e);
  }
}

function producer(id: string, participantId = 'wang', source: ProducerInfo['source'] = 'camera', paused = false): ProducerInfo {
  return { id, participantId, kind: source === 'microphone' ? 'audio' : 'video', source, paused };
}

function setup(people = ['wang', 'li']) {
  const media = new FakeMedia();
  const events = new Events();
  const known = new Map(people.map((id) => [id, person(id)]));
  const tracks = new RemoteTracks(media as unknown as MediaSession, (id) => known.get(id), events);
  return { media, events, known, tracks };
}

describe('RemoteTracks', () => {
  it('subscribes to a producer and reports the track with who sent it', async () => {
    const { media, events, tracks } = setup();
    const cam = producer('p-cam', 'wang', 'camera');
    tracks.receive(cam);
    expect(media.consumeCalls).toEqual(['p-cam']);
    expect(tracks.list()).toEqual([]); // not before the server answered
    const consumer = await media.answer(cam, true);
    expect(events.log).toEqual(['added p-cam wang camera paused']);
    expect(tracks.list()).toEqual([
      {
        id: consumer.id,
        producerId: 'p-cam',
        participant: person('wang'),
        kind: 'video',
        source: 'camera',
        mediaStreamTrack: consumer.track,
        paused: true,
      },
    ]);
  });

  it('subscribes once per producer, even when asked again while subscribing or after', async () => {
    const { media, tracks } = setup();
    const mic = producer('p-mic', 'li', 'microphone');
    tracks.receive(mic);
    tracks.receive(mic);
    await media.answer(mic);
    tracks.receive(mic);
    expect(media.consumeCalls).toEqual(['p-mic']);
    expect(tracks.list()).toHaveLength(1);
  });

  it('closes the consumer when its sender left during the subscription', async () => {
    const { media, events, known, tracks } = setup();
    tracks.receive(producer('p1', 'li'));
    known.delete('li');
    const consumer = await media.answer(producer('p1', 'li'));
    expect(consumer.closed).toBe(true);
    expect(tracks.list()).toEqual([]);
    expect(events.log).toEqual([]);
  });

  it('stays quiet when the producer closed before the subscription completed, and reports other failures', async () => {
    const { media, events, tracks } = setup();
    tracks.receive(producer('gone'));
    await media.fail('gone', new ProtocolError('NOT_FOUND', 'no such producer'));
    expect(events.errors).toEqual([]);

    tracks.receive(producer('broken'));
    await media.fail('broken', new ProtocolError('INTERNAL', 'transport failed'));
    tracks.receive(producer('odd'));
    await media.fail('odd', 'a string');
    expect(events.errors.map((e) => [e instanceof Error, e.message])).toEqual([
      [true, 'transport failed'],
      [true, 'a string'],
    ]);
    // A failed subscription may be tried again.
    tracks.receive(producer('broken'));
    expect(media.consumeCalls.filter((p) => p === 'broken')).toHaveLength(2);
  });

  it('drop() closes the consumer and reports the track removed; an unknown consumer is still closed, silently', async () => {
    const { media, events, tracks } = setup();
    tracks.receive(producer('p1'));
    const consumer = await media.answer(producer('p1'));
    tracks.drop(consumer.id);
    tracks.drop('consumer-unknown');
    expect(media.closedConsumers).toEqual([consumer.id, 'consumer-unknown']);
    expect(events.log).toEqual(['added p1 wang camera', 'removed p1']);
    expect(tracks.list()).toEqual([]);
  });

  it("dropParticipant() removes only that person's tracks", async () => {
    const { media, events, tracks } = setup();
    for (const p of [producer('w-cam', 'wang'), producer('w-mic', 'wang', 'microphone'), producer('l-cam', 'li')]) {
      tracks.receive(p);
      await media.answer(p);
    }
    tracks.dropParticipant('wang');
    expect(tracks.list().map((t) => t.producerId)).toEqual(['l-cam']);
    expect(events.log.filter((l) => l.startsWith('removed')).sort()).toEqual(['removed w-cam', 'removed w-mic']);
  });

  it('setPaused() reports a change once, and not a repeat', async () => {
    const { media, events, tracks } = setup();
    tracks.receive(producer('p1'));
    await media.answer(producer('p1'));
    tracks.setPaused('p1', true);
    tracks.setPaused('p1', true);
    tracks.setPaused('p1', false);
    tracks.setPaused('unknown', true);
    expect(events.log.slice(1)).toEqual(['paused p1', 'resumed p1']);
  });

  it('a pause announced while the subscription is in flight is kept (the consume answer may predate it)', async () => {
    const { media, events, tracks } = setup();
    tracks.receive(producer('p1'));
    tracks.setPaused('p1', true); // heard before the consume answer, which says "not paused"
    await media.answer(producer('p1'));
    expect(tracks.list().map((t) => t.paused)).toEqual([true]);
    expect(events.log).toEqual(['added p1 wang camera paused']); // added paused, no separate change
  });

  it('after dropAll() (leaving), a subscription that completes late is closed, not shown', async () => {
    const { media, events, tracks } = setup();
    tracks.receive(producer('p1'));
    await media.answer(producer('p1'));
    tracks.receive(producer('late'));
    tracks.dropAll();
    const late = await media.answer(producer('late'));
    expect(late.closed).toBe(true);
    expect(tracks.list()).toEqual([]);
    expect(events.log).toEqual(['added p1 wang camera', 'removed p1']);
  });

  describe('reconcile (after a resume)', () => {
    it('drops tracks whose producer is gone, subscribes to new ones, and keeps the rest untouched', async () => {
      const { media, events, tracks } = setup();
      for (const p of [producer('keep'), producer('gone', 'li')]) {
        tracks.receive(p);
        await media.answer(p);
      }
      const kept = tracks.list().find((t) => t.producerId === 'keep')!;
      events.log.length = 0;

      tracks.reconcile([producer('keep'), producer('new', 'li', 'screen')]);
      expect(events.log).toEqual(['removed gone']);
      expect(media.closedConsumers).toHaveLength(1);
      expect(media.consumeCalls).toEqual(['keep', 'gone', 'new']);
      await media.answer(producer('new', 'li', 'screen'));
      expect(events.log).toEqual(['removed gone', 'added new li screen']);
      expect(tracks.list().map((t) => t.producerId)).toEqual(['keep', 'new']);
      expect(tracks.list()[0]).toBe(kept);
    });

    it('applies pause changes that happened while disconnected, and only those', async () => {
      const { media, events, tracks } = setup();
      for (const p of [producer('a'), producer('b', 'li', 'camera', true), producer('c', 'li', 'microphone')]) {
        tracks.receive(p);
        await media.answer(p);
      }
      events.log.length = 0;
      tracks.reconcile([
        producer('a', 'wang', 'camera', true),
        producer('b', 'li', 'camera', false),
        producer('c', 'li', 'microphone', false),
      ]);
      expect(events.log).toEqual(['paused a', 'resumed b']);
      expect(tracks.list().map((t) => t.paused)).toEqual([true, false, false]);
    });

    it('does not subscribe twice to a producer still being subscribed to', () => {
      const { media, tracks } = setup();
      tracks.receive(producer('p1'));
      tracks.reconcile([producer('p1')]);
      expect(media.consumeCalls).toEqual(['p1']);
    });

    it('with an empty list, removes every track', async () => {
      const { media, events, tracks } = setup();
      for (const p of [producer('a'), producer('b', 'li')]) {
        tracks.receive(p);
        await media.answer(p);
      }
      tracks.reconcile([]);
      expect(tracks.list()).toEqual([]);
      expect(events.log.filter((l) => l.startsWith('removed')).sort()).toEqual(['removed a', 'removed b']);
    });
  });
});

// --- reconnect ------------------------------------------------------------------------------------

describe('defaultReconnectPolicy', () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives up once the server's grace period is over", () => {
    expect(defaultReconnectPolicy.nextDelayMs(1, 30_000, 30_000)).toBeNull();
    expect(defaultReconnectPolicy.nextDelayMs(5, 45_000, 30_000)).toBeNull();
    expect(defaultReconnectPolicy.nextDelayMs(1, 0, 0)).toBeNull();
  });

  it('retries quickly at first, then backs off exponentially up to 5 s, with ±20 % jitter', () => {
    const delays = (random: number) => {
      vi.spyOn(Math, 'random').mockReturnValue(random);
      const out = [1, 2, 3, 4, 5, 6, 7, 10].map((n) => defaultReconnectPolicy.nextDelayMs(n, 0, 600_000));
      vi.restoreAllMocks();
      return out;
    };
    expect(delays(0.5)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(delays(0)).toEqual([200, 400, 800, 1600, 3200, 4000, 4000, 4000]);
    const high = delays(0.999999);
    expect(high[0]).toBeCloseTo(300, 1);
    expect(high[7]).toBeCloseTo(6000, 1);
  });

  it('spreads the clients out: real jitter stays within the bounds and varies', () => {
    const samples = Array.from({ length: 200 }, () => defaultReconnectPolicy.nextDelayMs(3, 0, 60_000)!);
    for (const d of samples) {
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1200);
    }
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('never waits past the end of the grace period', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    expect(defaultReconnectPolicy.nextDelayMs(8, 29_900, 30_000)).toBe(100);
    expect(defaultReconnectPolicy.nextDelayMs(1, 29_999, 30_000)).toBe(1);
  });
});
