/**
 * LayerRamp without a worker: a camera starts small only when its smallest layer is flowing; the
 * consumer is raised a moment after that layer flows (or at the latest after RAISE_AT_LATEST_MS) — to
 * the top, or to what the receiver asked for meanwhile (kept, not applied early); afterwards a choice
 * is applied at once; a consumer without layers is refused a choice.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { preferLayers, raiseLater, RAISE_AFTER_MS, RAISE_AT_LATEST_MS, startLayers } from '../../server/media/LayerRamp.js';
import { ProtocolError } from '../../signaling/protocol/index.js';

/** What LayerRamp uses of a mediasoup Consumer. */
class FakeConsumer extends EventEmitter {
  readonly set: types.ConsumerLayers[] = [];
  readonly observer = new EventEmitter();
  closed = false;
  constructor(
    readonly type: types.ConsumerType,
    public preferredLayers: types.ConsumerLayers | undefined = { spatialLayer: 0, temporalLayer: 2 },
  ) {
    super();
  }
  async setPreferredLayers(layers: types.ConsumerLayers): Promise<void> {
    this.set.push(layers);
  }
}

const asConsumer = (c: FakeConsumer) => c as unknown as types.Consumer;
const flowing = (c: FakeConsumer, spatialLayer: number) => c.emit('layerschange', { spatialLayer, temporalLayer: 0 });
const producer = (kind: 'video' | 'audio', type: types.ProducerType, smallestScore: number) =>
  ({ kind, type, score: [{ encodingIdx: 0, ssrc: 1, score: smallestScore }] }) as unknown as types.Producer;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('LayerRamp', () => {
  it('starts small only a simulcast camera whose smallest layer flows now', () => {
    expect(startLayers(producer('video', 'simulcast', 10))).toEqual({ preferredLayers: { spatialLayer: 0 } });
    expect(startLayers(producer('video', 'simulcast', 0))).toEqual({});
    expect(startLayers(producer('video', 'simple', 10))).toEqual({});
    expect(startLayers(producer('audio', 'simple', 10))).toEqual({});
  });

  it('raises to the top a moment after the smallest layer flows, once', async () => {
    const consumer = new FakeConsumer('simulcast');
    raiseLater(asConsumer(consumer));
    consumer.emit('layerschange', undefined); // nothing forwarded: not yet
    flowing(consumer, 0);
    await vi.advanceTimersByTimeAsync(RAISE_AFTER_MS - 1);
    expect(consumer.set).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumer.set).toEqual([{ spatialLayer: 255 }]);
    flowing(consumer, 2);
    await vi.advanceTimersByTimeAsync(RAISE_AT_LATEST_MS);
    expect(consumer.set).toHaveLength(1);
  });

  it("keeps the receiver's choice until the raise, then applies it; afterwards at once", async () => {
    const consumer = new FakeConsumer('simulcast');
    raiseLater(asConsumer(consumer));
    await preferLayers(asConsumer(consumer), { spatialLayer: 1 });
    expect(consumer.set).toEqual([]);
    flowing(consumer, 0);
    await vi.advanceTimersByTimeAsync(RAISE_AFTER_MS);
    expect(consumer.set).toEqual([{ spatialLayer: 1 }]);
    await preferLayers(asConsumer(consumer), { spatialLayer: 2, temporalLayer: 1 });
    expect(consumer.set).toEqual([{ spatialLayer: 1 }, { spatialLayer: 2, temporalLayer: 1 }]);
  });

  it('raises anyway when the smallest layer never flows; not a consumer closed meanwhile', async () => {
    const stalled = new FakeConsumer('simulcast');
    raiseLater(asConsumer(stalled));
    await vi.advanceTimersByTimeAsync(RAISE_AT_LATEST_MS);
    expect(stalled.set).toEqual([{ spatialLayer: 255 }]);

    const closed = new FakeConsumer('simulcast');
    raiseLater(asConsumer(closed));
    closed.closed = true;
    closed.observer.emit('close');
    await vi.advanceTimersByTimeAsync(RAISE_AT_LATEST_MS);
    expect(closed.set).toEqual([]);
  });

  it('leaves alone a consumer that did not start small; a track without layers is refused a choice', async () => {
    const full = new FakeConsumer('simulcast', { spatialLayer: 2, temporalLayer: 2 });
    raiseLater(asConsumer(full));
    expect(full.listenerCount('layerschange')).toBe(0);
    await preferLayers(asConsumer(full), { spatialLayer: 1 });
    expect(full.set).toEqual([{ spatialLayer: 1 }]);

    const simple = new FakeConsumer('simple', undefined);
    raiseLater(asConsumer(simple));
    const refusal = await preferLayers(asConsumer(simple), { spatialLayer: 1 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ProtocolError);
    expect((refusal as ProtocolError).code).toBe('BAD_REQUEST');
  });
});
