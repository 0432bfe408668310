/**
 * The room's bookkeeping classes on their own, without a mediasoup worker: chat, Q&A, what a room
 * remembers after it closes, and where the audience of a broadcast is seated (FanOut, driven by a
 * fake worker pool and fake routers that behave like mediasoup's for what FanOut uses).
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type ParticipantInfo } from '../../signaling/protocol/index.js';
import { ChatLog, DEFAULT_CHAT_LIMITS } from '../../server/rooms/ChatLog.js';
import { QuestionBoard } from '../../server/rooms/QuestionBoard.js';
import { JoinThrottle, RoomMemories } from '../../server/rooms/RoomMemory.js';
import { FanOut, type MediaHome } from '../../server/rooms/FanOut.js';
import type { MediaWorker, WorkerPool } from '../../server/media/WorkerPool.js';

function person(id: string, displayName = `Dr ${id}`): ParticipantInfo {
  return {
    id,
    identity: `${id}@hospital`,
    displayName,
    role: 'specialist',
    site: { id: 'site-1', name: 'County Hospital', level: 'county_hospital' },
    joinedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** What a call is rejected with, for asserting on the code. */
function rejection(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('expected a ProtocolError, but the call succeeded');
}

describe('ChatLog', () => {
  const wang = person('wang', 'Dr Wang');
  const li = person('li', 'Dr Li');

  it('records who said what and when, in order', () => {
    const chat = new ChatLog();
    const first = chat.post(wang, 'BP 140/90', Date.UTC(2026, 0, 1, 9, 0, 0));
    const second = chat.post(li, 'noted', Date.UTC(2026, 0, 1, 9, 0, 1));
    expect(first).toMatchObject({
      participantId: 'wang',
      displayName: 'Dr Wang',
      role: 'specialist',
      siteName: 'County Hospital',
      text: 'BP 140/90',
      at: '2026-01-01T09:00:00.000Z',
    });
    expect(first.id).not.toEqual(second.id);
    expect(chat.history()).toEqual([first, second]);
  });

  it('hands out a copy of the history, not the log itself', () => {
    const chat = new ChatLog();
    chat.post(wang, 'hello', 0);
    chat.history().pop();
    expect(chat.history()).toHaveLength(1);
  });

  it('keeps only the most recent `history` messages', () => {
    const chat = new ChatLog({ history: 3, burst: 100, windowMs: 1000 });
    for (let i = 1; i <= 5; i++) chat.post(wang, `message ${i}`, i);
    expect(chat.history().map((m) => m.text)).toEqual(['message 3', 'message 4', 'message 5']);
  });

  it('refuses more than `burst` messages from one person within the window, and keeps the refused one out of the record', () => {
    const chat = new ChatLog({ history: 100, burst: 2, windowMs: 1000 });
    chat.post(wang, 'one', 0);
    chat.post(wang, 'two', 10);
    const error = rejection(() => chat.post(wang, 'three', 20));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('2 chat messages per 1 s');
    expect(chat.history().map((m) => m.text)).toEqual(['one', 'two']);
    // Someone else is not slowed down by Dr Wang's burst.
    expect(chat.post(li, 'mine', 20).text).toBe('mine');
  });

  it('uses a sliding window: each message counts for exactly `windowMs`', () => {
    const chat = new ChatLog({ history: 100, burst: 2, windowMs: 1000 });
    chat.post(wang, 'a', 0);
    chat.post(wang, 'b', 600);
    expect(rejection(() => chat.post(wang, 'c', 999)).code).toBe('TOO_MANY_REQUESTS');
    chat.post(wang, 'c', 1000); // 'a' is exactly windowMs old: no longer counted
    expect(rejection(() => chat.post(wang, 'd', 1599)).code).toBe('TOO_MANY_REQUESTS'); // 'b' and 'c' still count
    chat.post(wang, 'd', 1600);
    expect(chat.history().map((m) => m.text)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not count refused attempts against the sender', () => {
    const chat = new ChatLog({ history: 100, burst: 1, windowMs: 1000 });
    chat.post(wang, 'a', 0);
    for (let t = 100; t < 1000; t += 100) expect(() => chat.post(wang, 'spam', t)).toThrow(ProtocolError);
    expect(chat.post(wang, 'b', 1000).text).toBe('b');
  });

  it('limits the person (identity), not the join: a new participant id of the same identity shares the limit', () => {
    const chat = new ChatLog({ history: 100, burst: 2, windowMs: 60_000 });
    chat.post(wang, 'before leaving', 0);
    chat.post(wang, 'still here', 1);
    const rejoined = { ...wang, id: 'wang-second-join' };
    const error = rejection(() => chat.post(rejoined, 'back again', 2));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('please wait 60 s');
    expect(chat.post(rejoined, 'later', 60_000).participantId).toBe('wang-second-join');
  });

  it("keeps the limit's clock where it is handed in (the room's memory), so a new log starts from it", () => {
    const clock = new Map<string, number[]>();
    new ChatLog({ history: 100, burst: 1, windowMs: 1000 }, clock).post(wang, 'in the first room', 0);
    const reopened = new ChatLog({ history: 100, burst: 1, windowMs: 1000 }, clock);
    expect(rejection(() => reopened.post(wang, 'too soon', 500)).code).toBe('TOO_MANY_REQUESTS');
    expect(reopened.post(wang, 'now', 1000).text).toBe('now');
  });

  it('pages: the latest `limit` messages, then the ones before a given message, oldest first, without gaps', () => {
    const chat = new ChatLog({ history: 10, burst: 100, windowMs: 1000 });
    for (let i = 1; i <= 12; i++) chat.post(wang, `m${i}`, i); // m1 and m2 fall out of the kept 10
    const latest = chat.page(undefined, 4);
    expect(latest.messages.map((m) => m.text)).toEqual(['m9', 'm10', 'm11', 'm12']);
    expect(latest.hasMore).toBe(true);
    const older = chat.page(latest.messages[0]!.id, 4);
    expect(older.messages.map((m) => m.text)).toEqual(['m5', 'm6', 'm7', 'm8']);
    const oldest = chat.page(older.messages[0]!.id, 4);
    expect(oldest).toMatchObject({ hasMore: false });
    expect(oldest.messages.map((m) => m.text)).toEqual(['m3', 'm4']);
    expect(chat.page(oldest.messages[0]!.id, 4)).toEqual({ messages: [], hasMore: false });
    expect(chat.page(undefined, 0)).toEqual({ messages: [], hasMore: true });
    expect(rejection(() => chat.page('no-such-message', 4)).code).toBe('NOT_FOUND');
  });

  it('has defaults that allow a normal conversation', () => {
    const chat = new ChatLog();
    for (let i = 0; i < DEFAULT_CHAT_LIMITS.burst; i++) chat.post(wang, `m${i}`, 0);
    expect(() => chat.post(wang, 'one too many', 0)).toThrow(ProtocolError);
    expect(chat.post(wang, 'later', DEFAULT_CHAT_LIMITS.windowMs).text).toBe('later');
  });
});

describe('QuestionBoard', () => {
  const viewer = person('viewer-1', 'Nurse Zhao');
  const other = person('viewer-2', 'Dr Sun');
  const limits = { intervalMs: 10_000, max: 1000, pendingPerPerson: 100 };

  it('takes a question as pending: visible to managers only', () => {
    const board = new QuestionBoard(limits);
    const q = board.ask(viewer, 'Dosage for children?', Date.UTC(2026, 0, 1, 10, 0, 0));
    expect(q).toMatchObject({
      text: 'Dosage for children?',
      status: 'pending',
      askedAt: '2026-01-01T10:00:00.000Z',
      askedBy: { participantId: 'viewer-1', displayName: 'Nurse Zhao', siteName: 'County Hospital' },
    });
    expect(board.list(true)).toEqual([q]);
    expect(board.list(false)).toEqual([]);
  });

  it('shows approved and answered questions to everyone, hides pending and hidden ones', () => {
    expect(QuestionBoard.isPublic('approved')).toBe(true);
    expect(QuestionBoard.isPublic('answered')).toBe(true);
    expect(QuestionBoard.isPublic('pending')).toBe(false);
    expect(QuestionBoard.isPublic('hidden')).toBe(false);

    const board = new QuestionBoard(limits);
    const a = board.ask(viewer, 'a', 0);
    const b = board.ask(other, 'b', 0);
    const c = board.ask(person('viewer-3'), 'c', 0);
    board.ask(person('viewer-4'), 'd', 0); // stays pending
    board.update(a.id, 'approved');
    board.update(b.id, 'hidden');
    board.update(c.id, 'answered');
    expect(board.list(false).map((q) => [q.text, q.status])).toEqual([
      ['a', 'approved'],
      ['c', 'answered'],
    ]);
    expect(board.list(true).map((q) => [q.text, q.status])).toEqual([
      ['a', 'approved'],
      ['b', 'hidden'],
      ['c', 'answered'],
      ['d', 'pending'],
    ]);
  });

  it('update() reports the previous status so the caller knows whom to tell', () => {
    const board = new QuestionBoard(limits);
    const q = board.ask(viewer, 'q', 0);
    expect(board.update(q.id, 'approved')).toMatchObject({ previous: 'pending', question: { id: q.id, status: 'approved' } });
    expect(board.update(q.id, 'hidden')).toMatchObject({ previous: 'approved', question: { status: 'hidden' } });
    expect(board.update(q.id, 'approved').previous).toBe('hidden');
    expect(board.update(q.id, 'answered').previous).toBe('approved');
  });

  it('returns a snapshot: changing it does not change the board', () => {
    const board = new QuestionBoard(limits);
    const q = board.ask(viewer, 'q', 0);
    const { question } = board.update(q.id, 'approved');
    question.status = 'hidden';
    expect(board.list(false).map((x) => x.status)).toEqual(['approved']);
  });

  it('refuses to mark a hidden question answered until it is approved again', () => {
    const board = new QuestionBoard(limits);
    const q = board.ask(viewer, 'q', 0);
    board.update(q.id, 'hidden');
    expect(rejection(() => board.update(q.id, 'answered')).code).toBe('BAD_REQUEST');
    expect(board.list(true)[0]!.status).toBe('hidden');
    board.update(q.id, 'approved');
    expect(board.update(q.id, 'answered').question.status).toBe('answered');
  });

  it('lets a presenter answer a pending question directly', () => {
    const board = new QuestionBoard(limits);
    const q = board.ask(viewer, 'q', 0);
    expect(board.update(q.id, 'answered').previous).toBe('pending');
    expect(board.list(false)).toHaveLength(1);
  });

  it('answers an unknown question id with NOT_FOUND', () => {
    expect(rejection(() => new QuestionBoard(limits).update('no-such-id', 'approved')).code).toBe('NOT_FOUND');
  });

  it('takes one question per person per interval; a refused one does not restart the wait', () => {
    const board = new QuestionBoard(limits);
    board.ask(viewer, 'first', 0);
    const error = rejection(() => board.ask(viewer, 'second', 5_000));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('10 s');
    expect(board.ask(other, 'someone else', 5_000).text).toBe('someone else');
    expect(() => board.ask(viewer, 'still too soon', 9_999)).toThrow(ProtocolError);
    expect(board.ask(viewer, 'second', 10_000).text).toBe('second');
    expect(board.list(true).map((q) => q.text)).toEqual(['first', 'someone else', 'second']);
  });

  it('stops taking questions at `max`, whoever asks', () => {
    const board = new QuestionBoard({ intervalMs: 0, max: 2, pendingPerPerson: 100 });
    board.ask(viewer, 'one', 0);
    board.ask(other, 'two', 0);
    const error = rejection(() => board.ask(person('viewer-3'), 'three', 0));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(board.list(true)).toHaveLength(2);
    // Hiding a question does not free a place: the board is bounded in what it holds.
    board.update(board.list(true)[0]!.id, 'hidden');
    expect(() => board.ask(person('viewer-4'), 'four', 100_000)).toThrow(ProtocolError);
  });

  it('keys the interval by identity, in the clock handed in: a rejoin or a reopened board does not reset it', () => {
    const clock = new Map<string, number>();
    new QuestionBoard(limits, clock).ask(viewer, 'first', 0);
    const reopened = new QuestionBoard(limits, clock);
    expect(rejection(() => reopened.ask({ ...viewer, id: 'viewer-1-rejoined' }, 'again', 5_000)).code).toBe('TOO_MANY_REQUESTS');
    expect(reopened.ask({ ...viewer, id: 'viewer-1-rejoined' }, 'again', 10_000).text).toBe('again');
  });

  it('bounds the questions one person has pending; one taken up frees a place', () => {
    const board = new QuestionBoard({ intervalMs: 0, max: 1000, pendingPerPerson: 2 });
    const first = board.ask(viewer, 'one', 0);
    board.ask({ ...viewer, id: 'viewer-1-rejoined' }, 'two', 1);
    const error = rejection(() => board.ask(viewer, 'three', 2));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('2 questions waiting');
    expect(board.ask(other, 'someone else', 2).text).toBe('someone else');
    board.update(first.id, 'hidden');
    expect(board.ask(viewer, 'three', 3).text).toBe('three');
    expect(board.list(true)).toHaveLength(4);
  });
});

describe('JoinThrottle', () => {
  it('lets a burst through, then one join per interval, and says how long to wait', () => {
    const joins = new JoinThrottle({ burst: 3, intervalMs: 2000 });
    for (let i = 0; i < 3; i++) joins.take('wang', 0);
    const error = rejection(() => joins.take('wang', 0));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('please wait 2 s');
    expect(rejection(() => joins.take('wang', 1500)).message).toContain('please wait 1 s');
    joins.take('wang', 2000);
    expect(() => joins.take('wang', 2001)).toThrow(ProtocolError);
    joins.take('li', 2001); // another person is not slowed down
    // After a quiet spell the whole burst is back, not more.
    for (let i = 0; i < 3; i++) joins.take('wang', 60_000);
    expect(() => joins.take('wang', 60_000)).toThrow(ProtocolError);
  });
});

describe('RoomMemories', () => {
  it('gives the same memory for the same room, a separate one for another', () => {
    const memories = new RoomMemories(60);
    const a = memories.of('room-a', 0);
    a.banned.add('removed-person');
    a.ended = true;
    expect(memories.of('room-a', 1000)).toBe(a);
    expect(memories.of('room-a', 2000)).toMatchObject({ banned: new Set(['removed-person']), ended: true });
    const b = memories.of('room-b', 2000);
    expect(b).not.toBe(a);
    expect(b).toMatchObject({ banned: new Set(), ended: false });
    expect(b.joins).not.toBe(a.joins);
  });

  it('keeps a memory for keepSeconds after its last use, then forgets it', () => {
    const memories = new RoomMemories(60);
    memories.of('room-a', 0).banned.add('x');
    // Pruning happens whenever any room's memory is looked up.
    memories.of('room-b', 60_000);
    expect(memories.of('room-a', 60_000).banned.has('x')).toBe(true); // exactly keepSeconds: still kept, and touched again
    memories.of('room-b', 120_000);
    expect(memories.of('room-a', 120_000).banned.has('x')).toBe(true);
    memories.of('room-b', 180_001); // room-a last used at 120 000: 60.001 s ago
    const fresh = memories.of('room-a', 180_001);
    expect(fresh.banned.size).toBe(0);
    expect(fresh.ended).toBe(false);
  });

  it('each use restarts the clock, so a room in steady use is never forgotten', () => {
    const memories = new RoomMemories(10);
    const memory = memories.of('room', 0);
    memory.ended = true;
    for (let t = 9_000; t <= 90_000; t += 9_000) expect(memories.of('room', t)).toBe(memory);
  });

  it('forgets an unused room even if only other rooms are looked up', () => {
    const memories = new RoomMemories(1);
    const old = memories.of('old', 0);
    memories.of('other', 5000);
    expect(memories.of('old', 5000)).not.toBe(old);
  });
});

// --- FanOut ---------------------------------------------------------------------------------------

/** A router with what FanOut uses: id, close() and its observer's 'close', pipeToRouter. */
class FakeRouter {
  static #next = 0;
  readonly id = `router-${++FakeRouter.#next}`;
  readonly observer = new EventEmitter();
  closed = false;
  pipeCalls: { producerId: string; target: string; keepId: boolean | undefined }[] = [];
  /** The next pipeToRouter calls fail with this, once each. */
  pipeFailures: Error[] = [];

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.observer.emit('close');
  }

  async pipeToRouter(options: { producerId: string; router: types.Router; keepId?: boolean }): Promise<{ pipeProducer?: { id: string } }> {
    const target = (options.router as unknown as FakeRouter).id;
    this.pipeCalls.push({ producerId: options.producerId, target, keepId: options.keepId });
    await Promise.resolve();
    const failure = this.pipeFailures.shift();
    if (failure) throw failure;
    return { pipeProducer: { id: `${options.producerId}@${target}` } };
  }
}

const asRouter = (r: FakeRouter): types.Router => r as unknown as types.Router;
const fake = (r: types.Router): FakeRouter => r as unknown as FakeRouter;

/**
 * A worker pool with the placement rule of the real one: the least-loaded worker among those
 * `prefer` accepts (any worker if it accepts none). Router creation can be held to test bursts.
 */
class FakePool implements Pick<WorkerPool, 'createRouter' | 'hasLive'> {
  readonly workers: MediaWorker[];
  readonly created: FakeRouter[] = [];
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};

  constructor(workerCount: number) {
    this.workers = Array.from({ length: workerCount }, (_, index) => ({
      index,
      worker: {} as types.Worker,
      webRtcServer: { id: `webrtc-${index}` } as unknown as types.WebRtcServer,
      routers: 0,
    }));
  }

  hasLive(among: (w: MediaWorker) => boolean): boolean {
    return this.workers.some(among);
  }

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open();
  }

  async createRouter(
    _codecs: types.RouterRtpCodecCapability[],
    prefer?: (w: MediaWorker) => boolean,
  ): Promise<{ router: types.Router; host: MediaWorker }> {
    const candidates = prefer && this.workers.some(prefer) ? this.workers.filter(prefer) : this.workers;
    const host = candidates.reduce((best, w) => (w.routers < best.routers ? w : best));
    host.routers++;
    await this.#gate;
    const router = new FakeRouter();
    router.observer.once('close', () => host.routers--);
    this.created.push(router);
    return { router: asRouter(router), host };
  }

  home(workerIndex: number): MediaHome {
    const host = this.workers[workerIndex]!;
    host.routers++;
    return { router: asRouter(new FakeRouter()), webRtcServer: host.webRtcServer, workerIndex };
  }
}

function fakeConsumer(): types.Consumer & { close(): void } {
  const observer = new EventEmitter();
  return { observer, close: () => observer.emit('close') } as unknown as types.Consumer & { close(): void };
}

const silent = pino({ level: 'silent' });

function fanOut(workers: number, capacity: number): { pool: FakePool; origin: MediaHome; fan: FanOut } {
  const pool = new FakePool(workers);
  const origin = pool.home(0);
  return { pool, origin, fan: new FanOut(origin, pool as unknown as WorkerPool, capacity, silent) };
}

describe('FanOut placement', () => {
  it('seats viewers on the origin router until it is full, then opens a viewer router on an unused worker', async () => {
    const { pool, origin, fan } = fanOut(3, 4);
    const a = await fan.place(2);
    const b = await fan.place(2);
    expect(a.home.router).toBe(origin.router);
    expect(b.home.router).toBe(origin.router);
    expect(pool.created).toHaveLength(0);

    const c = await fan.place(1);
    expect(c.home.router).not.toBe(origin.router);
    expect(c.home.workerIndex).not.toBe(0);
    expect(c.home.webRtcServer).toBe(pool.workers[c.home.workerIndex]!.webRtcServer);
    expect(fan.describe().map((r) => r.routerId)).toEqual([origin.router.id, c.home.router.id]);
  });

  it('spreads viewer routers over every worker, then lets them take more instead of doubling up on one', async () => {
    const { pool, fan } = fanOut(3, 1);
    const homes = [];
    for (let i = 0; i < 5; i++) homes.push((await fan.place(1)).home.workerIndex);
    // Origin on worker 0, then the two unused workers; then no second router on a worker (a pipe hop
    // and no core gained): the least-loaded routers take the viewers beyond their cap.
    expect(homes.slice(0, 3).sort()).toEqual([0, 1, 2]);
    expect(homes.slice(3).every((w) => [0, 1, 2].includes(w))).toBe(true);
    expect(pool.created).toHaveLength(2);
    expect(
      fan
        .describe()
        .map((r) => r.workerIndex)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('counts a viewer as at least one consumer', async () => {
    const { fan, origin } = fanOut(2, 2);
    expect((await fan.place(0)).expected).toBe(1);
    expect((await fan.place(-3)).expected).toBe(1);
    expect((await fan.place(1)).home.router).not.toBe(origin.router); // the two above filled the origin
  });

  it('opens one router at a time, so a burst of joins fills it instead of opening many', async () => {
    const { pool, fan, origin } = fanOut(4, 2);
    await fan.place(2); // origin full
    pool.hold();
    const burst = Promise.all([fan.place(1), fan.place(1), fan.place(1)]);
    await new Promise((r) => setTimeout(r, 10));
    expect(pool.created).toHaveLength(0);
    pool.release();
    const [x, y, z] = await burst;
    expect(x!.home.router).toBe(y!.home.router);
    expect(z!.home.router).not.toBe(x!.home.router);
    expect(z!.home.router).not.toBe(origin.router);
    expect(pool.created).toHaveLength(2);
  });

  it('counts live consumers against capacity and frees the seat when a consumer closes', async () => {
    const { fan, origin } = fanOut(2, 2);
    const seat = await fan.place(2);
    const audio = fakeConsumer();
    const video = fakeConsumer();
    fan.track(seat, audio);
    fan.track(seat, video);
    expect(fan.describe()[0]).toMatchObject({ routerId: origin.router.id, consumers: 2 });

    audio.close();
    expect(fan.describe()[0]!.consumers).toBe(1);
    expect((await fan.place(1)).home.router).toBe(origin.router);
  });

  it('a consumer beyond what the viewer was expected to bring still counts, once', async () => {
    const { fan, origin } = fanOut(2, 3);
    const seat = await fan.place(1);
    fan.track(seat, fakeConsumer());
    fan.track(seat, fakeConsumer()); // e.g. a screen share started after the viewer joined
    expect(fan.describe()[0]!.consumers).toBe(2);
    expect((await fan.place(1)).home.router).toBe(origin.router); // 2 consumers + 1 = capacity 3
    expect((await fan.place(1)).home.router).not.toBe(origin.router);
  });

  it('release() gives back the seats a viewer never used, once', async () => {
    const { fan, origin } = fanOut(2, 3);
    const seat = await fan.place(3);
    fan.track(seat, fakeConsumer());
    fan.release(seat);
    fan.release(seat);
    // One consumer still lives; the two expected but never made are free again.
    expect((await fan.place(2)).home.router).toBe(origin.router);
    expect((await fan.place(1)).home.router).not.toBe(origin.router);
  });

  it('forgets a viewer router that closes (e.g. its worker died) and opens another when needed', async () => {
    const { pool, fan } = fanOut(2, 1);
    await fan.place(1);
    const seat = await fan.place(1);
    fake(seat.home.router).close();
    expect(fan.describe()).toHaveLength(1);
    const again = await fan.place(1);
    expect(again.home.router).not.toBe(seat.home.router);
    expect(pool.created).toHaveLength(2);
  });
});

describe('FanOut piping', () => {
  it('uses origin producer ids as they are on the origin router, and for routers it does not know', async () => {
    const { fan, origin } = fanOut(2, 10);
    expect(await fan.localProducerId(origin.router, 'p1')).toBe('p1');
    expect(await fan.localProducerId(asRouter(new FakeRouter()), 'p1')).toBe('p1');
    expect(fake(origin.router).pipeCalls).toEqual([]);
  });

  it('pipes a producer to a viewer router once, under a new id, however many viewers ask at once', async () => {
    const { fan, origin } = fanOut(2, 1);
    await fan.place(1);
    const { home } = await fan.place(1);
    const ids = await Promise.all([
      fan.localProducerId(home.router, 'p1'),
      fan.localProducerId(home.router, 'p1'),
      fan.localProducerId(home.router, 'p2'),
    ]);
    expect(ids).toEqual([`p1@${home.router.id}`, `p1@${home.router.id}`, `p2@${home.router.id}`]);
    expect(await fan.localProducerId(home.router, 'p1')).toBe(`p1@${home.router.id}`);
    expect(fake(origin.router).pipeCalls).toEqual([
      { producerId: 'p1', target: home.router.id, keepId: false },
      { producerId: 'p2', target: home.router.id, keepId: false },
    ]);
  });

  it('tries again after a failed pipe instead of remembering the failure', async () => {
    const { fan, origin } = fanOut(2, 1);
    await fan.place(1);
    const { home } = await fan.place(1);
    fake(origin.router).pipeFailures.push(new Error('producer closed'));
    await expect(fan.localProducerId(home.router, 'p1')).rejects.toThrow('producer closed');
    expect(await fan.localProducerId(home.router, 'p1')).toBe(`p1@${home.router.id}`);
    expect(fake(origin.router).pipeCalls).toHaveLength(2);
  });
});

describe('FanOut close', () => {
  it('closes its viewer router but leaves the origin to the room, and only once', async () => {
    const { pool, fan, origin } = fanOut(3, 1);
    await fan.place(1);
    await fan.place(1);
    let closes = 0;
    pool.created[0]!.observer.on('close', () => closes++);
    fan.close();
    fan.close();
    expect(pool.created.map((r) => r.closed)).toEqual([true]);
    expect(closes).toBe(1);
    expect(fake(origin.router).closed).toBe(false);
    expect(pool.workers.map((w) => w.routers)).toEqual([1, 0, 0]);
  });

  // close() once skipped every second viewer router: each router's close event removes it from the list being walked.
  it('closes every viewer router when the room has several', async () => {
    const { pool, fan } = fanOut(4, 1);
    for (let i = 0; i < 4; i++) await fan.place(1);
    expect(pool.created).toHaveLength(3);
    fan.close();
    expect(pool.created.map((r) => r.closed)).toEqual([true, true, true]);
    expect(pool.workers.map((w) => w.routers)).toEqual([1, 0, 0, 0]);
  });

  it('a viewer expecting more tracks than a router takes gets a whole router (no endless router opening)', async () => {
    const { pool, fan } = fanOut(4, 2);
    const seat = await fan.place(10);
    expect(seat.expected).toBe(2);
    expect(pool.created.length).toBeLessThanOrEqual(1);
  });

  it('closes a router that finishes opening after the room closed, and fails the placement', async () => {
    const { pool, fan } = fanOut(2, 1);
    await fan.place(1);
    pool.hold();
    const late = fan.place(1);
    await new Promise((r) => setTimeout(r, 10));
    fan.close();
    pool.release();
    await expect(late).rejects.toThrow('room closed');
    expect(pool.created).toHaveLength(1);
    expect(pool.created[0]!.closed).toBe(true);
  });
});
