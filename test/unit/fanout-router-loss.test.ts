/**
 * A viewer router that dies (its worker died) in a broadcast room: FanOut forgets it and closes the
 * origin's side of the pipes into it, and RoomMedia drops the seats on it, so the next receiveHome
 * places those viewers anew on a live router. Fake routers and pool, as in rooms-pure.test.ts: they
 * behave like mediasoup's for what FanOut and RoomMedia use.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FanOut, type MediaHome } from '../../server/rooms/FanOut.js';
import { RoomMedia } from '../../server/rooms/RoomMedia.js';
import type { Participant } from '../../server/rooms/Participant.js';
import type { Room } from '../../server/rooms/Room.js';
import type { MediaWorker, WorkerPool } from '../../server/media/WorkerPool.js';

class FakeConsumer {
  readonly observer = new EventEmitter();
  closed = false;
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.observer.emit('close');
  }
}

class FakeRouter {
  static #next = 0;
  readonly id = `router-${++FakeRouter.#next}`;
  readonly observer = new EventEmitter();
  closed = false;
  /** The origin side of each pipe this router made, by target router id. */
  readonly pipeConsumers: { target: string; consumer: FakeConsumer }[] = [];
  /** Holds pipeToRouter answers until released (a pipe still in flight when its target dies). */
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.observer.emit('close');
  }

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open();
  }

  async pipeToRouter(options: {
    producerId: string;
    router: types.Router;
  }): Promise<{ pipeConsumer: FakeConsumer; pipeProducer: { id: string } }> {
    const target = (options.router as unknown as FakeRouter).id;
    const consumer = new FakeConsumer();
    this.pipeConsumers.push({ target, consumer });
    await this.#gate;
    return { pipeConsumer: consumer, pipeProducer: { id: `${options.producerId}@${target}` } };
  }
}

const asRouter = (r: FakeRouter): types.Router => r as unknown as types.Router;
const fake = (r: types.Router): FakeRouter => r as unknown as FakeRouter;

/** Least-loaded placement among preferred workers, like the real pool. */
class FakePool {
  readonly workers: MediaWorker[];
  readonly created: FakeRouter[] = [];

  constructor(count: number) {
    this.workers = Array.from({ length: count }, (_, index) => ({
      index,
      worker: {} as types.Worker,
      webRtcServer: { id: `webrtc-${index}` } as unknown as types.WebRtcServer,
      routers: 0,
    }));
  }

  hasLive(among: (w: MediaWorker) => boolean): boolean {
    return this.workers.some(among);
  }

  async createRouter(_codecs: unknown, prefer?: (w: MediaWorker) => boolean): Promise<{ router: types.Router; host: MediaWorker }> {
    const candidates = prefer && this.workers.some(prefer) ? this.workers.filter(prefer) : this.workers;
    const host = candidates.reduce((best, w) => (w.routers < best.routers ? w : best));
    host.routers++;
    await Promise.resolve();
    const router = new FakeRouter();
    router.observer.once('close', () => host.routers--);
    this.created.push(router);
    return { router: asRouter(router), host };
  }
}

const silent = pino({ level: 'silent' });

function broadcast(workers: number, capacity: number): { pool: FakePool; origin: MediaHome; fan: FanOut } {
  const pool = new FakePool(workers);
  pool.workers[0]!.routers++;
  const origin: MediaHome = { router: asRouter(new FakeRouter()), webRtcServer: pool.workers[0]!.webRtcServer, workerIndex: 0 };
  return { pool, origin, fan: new FanOut(origin, pool as unknown as WorkerPool, capacity, silent) };
}

/** What RoomMedia reads of its room for receiveHome: the fan-out, the origin and what each viewer will consume. */
function roomWith(origin: MediaHome, fan: FanOut): Room {
  return {
    fanOut: fan,
    router: origin.router,
    webRtcServer: origin.webRtcServer,
    workerIndex: origin.workerIndex,
    producerInfos: () => [{}],
  } as unknown as Room;
}

function viewer(id: string): Participant {
  return { id, publishesByRole: false, closed: false } as unknown as Participant;
}

describe('FanOut when a viewer router dies', () => {
  it('forgets the router, closes the origin side of its pipes and says which router closed', async () => {
    const { fan, origin } = broadcast(3, 1);
    await fan.place(1); // fills the origin
    const { home } = await fan.place(1);
    expect(await fan.localProducerId(home.router, 'cam-王芳')).toBe(`cam-王芳@${home.router.id}`);
    expect(await fan.localProducerId(home.router, 'mic-王芳')).toBe(`mic-王芳@${home.router.id}`);
    const closed: types.Router[] = [];
    fan.on('routerClosed', (r) => closed.push(r));

    fake(home.router).close(); // as mediasoup does for every router of a worker that died

    expect(closed).toEqual([home.router]);
    expect(fan.describe().map((r) => r.routerId)).toEqual([origin.router.id]);
    expect(fake(origin.router).pipeConsumers.map((p) => p.consumer.closed)).toEqual([true, true]);
  });

  it('closes a pipe that finishes after its router died, and fails that consume instead of naming a dead id', async () => {
    const { fan, origin } = broadcast(3, 1);
    await fan.place(1);
    const { home } = await fan.place(1);
    fake(origin.router).hold();
    const late = fan.localProducerId(home.router, 'screen-马丽');
    fake(home.router).close();
    fake(origin.router).release();
    await expect(late).rejects.toThrow('the viewer router closed');
    expect(fake(origin.router).pipeConsumers.map((p) => p.consumer.closed)).toEqual([true]);
  });
});

describe('RoomMedia seats when a viewer router dies', () => {
  it('drops the seats on the dead router: those viewers are placed anew on a live router, the others keep theirs', async () => {
    const { pool, origin, fan } = broadcast(3, 1);
    const media = new RoomMedia(roomWith(origin, fan), { initialOutgoingBitrate: 1_000_000, maxIncomingBitrate: 2_500_000 });
    const zhao = viewer('v-zhaolei'); // 赵磊, 安平县医院
    const ma = viewer('v-mali'); // 马丽, 红旗村卫生室
    expect((await media.receiveHome(zhao)).router).toBe(origin.router);
    const before = await media.receiveHome(ma);
    expect(before.router).not.toBe(origin.router);
    expect(await media.receiveHome(ma)).toBe(before); // a seat is kept while its router lives

    fake(before.router).close();

    const after = await media.receiveHome(ma);
    expect(fake(after.router).closed).toBe(false);
    expect(after.router).not.toBe(before.router);
    expect(pool.created).toHaveLength(2);
    expect(fan.describe().map((r) => r.routerId)).toEqual([origin.router.id, after.router.id]);
    expect((await media.receiveHome(zhao)).router).toBe(origin.router);
  });

  it('a seat on a router found closed is replaced even before the close was heard', async () => {
    const { origin, fan } = broadcast(2, 1);
    const media = new RoomMedia(roomWith(origin, fan), { initialOutgoingBitrate: 1_000_000, maxIncomingBitrate: 2_500_000 });
    await media.receiveHome(viewer('v-first'));
    const wang = viewer('v-wangfang');
    const seat = await media.receiveHome(wang);
    // mediasoup sets `closed` before it emits: a request arriving in between must not get the dead router.
    fake(seat.router).closed = true;
    const again = await media.receiveHome(wang);
    expect(again.router).not.toBe(seat.router);
  });
});

describe('FanOut on few cores', () => {
  it('never opens a second router on a worker that has one: the least-loaded router takes viewers beyond its cap', async () => {
    const { pool, fan, origin } = broadcast(2, 2);
    const seats = [];
    for (let i = 0; i < 5; i++) seats.push(await fan.place(2)); // 王芳, 赵磊, 马丽… each with camera + microphone
    for (const seat of seats) for (let k = 0; k < 2; k++) fan.track(seat, new FakeConsumer() as unknown as types.Consumer);
    expect(pool.created).toHaveLength(1); // worker 1 only; worker 0 has the origin
    const routers = fan.describe();
    expect(routers.map((r) => r.workerIndex).sort()).toEqual([0, 1]);
    expect(routers.map((r) => r.consumers).sort()).toEqual([4, 6]);
    expect(routers.some((r) => r.routerId === origin.router.id)).toBe(true);
  });
});
