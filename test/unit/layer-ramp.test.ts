/**
 * LayerRamp without a worker: a consumer with layers is raised once its smallest layer flows — to the
 * top, or to what the receiver asked for meanwhile (kept, not applied early); after that a choice is
 * applied at once; a consumer without layers is refused a choice.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { preferLayers, raiseWhenFlowing, START_LAYERS } from '../../server/media/LayerRamp.js';
import { ProtocolError } from '../../signaling/protocol/index.js';

/** What LayerRamp uses of a mediasoup Consumer: type, closed, 'layerschange', setPreferredLayers. */
class FakeConsumer extends EventEmitter {
  readonly set: types.ConsumerLayers[] = [];
  closed = false;
  constructor(readonly type: types.ConsumerType) {
    super();
  }
  async setPreferredLayers(layers: types.ConsumerLayers): Promise<void> {
    this.set.push(layers);
  }
}

const flowing = (c: FakeConsumer, spatialLayer: number) => c.emit('layerschange', { spatialLayer, temporalLayer: 0 });
const settle = () => new Promise((r) => setImmediate(r));

describe('LayerRamp', () => {
  it('starts video on the smallest layer and raises it to the top once that flows', async () => {
    expect(START_LAYERS).toEqual({ preferredLayers: { spatialLayer: 0 } });
    const consumer = new FakeConsumer('simulcast');
    raiseWhenFlowing(consumer as unknown as types.Consumer);
    consumer.emit('layerschange', undefined); // paused, nothing forwarded: not yet
    await settle();
    expect(consumer.set).toEqual([]);
    flowing(consumer, 0);
    flowing(consumer, 2); // raised once only
    await settle();
    expect(consumer.set).toEqual([{ spatialLayer: 255 }]);
  });

  it("keeps the receiver's choice until the first picture, then applies it; afterwards at once", async () => {
    const consumer = new FakeConsumer('simulcast');
    raiseWhenFlowing(consumer as unknown as types.Consumer);
    await preferLayers(consumer as unknown as types.Consumer, { spatialLayer: 1 });
    expect(consumer.set).toEqual([]);
    flowing(consumer, 0);
    await settle();
    expect(consumer.set).toEqual([{ spatialLayer: 1 }]);
    await preferLayers(consumer as unknown as types.Consumer, { spatialLayer: 2, temporalLayer: 1 });
    expect(consumer.set).toEqual([{ spatialLayer: 1 }, { spatialLayer: 2, temporalLayer: 1 }]);
  });

  it('does not raise a consumer closed before its picture flowed; a track without layers is refused a choice', async () => {
    const closed = new FakeConsumer('simulcast');
    raiseWhenFlowing(closed as unknown as types.Consumer);
    closed.closed = true;
    flowing(closed, 0);
    await settle();
    expect(closed.set).toEqual([]);

    const simple = new FakeConsumer('simple');
    raiseWhenFlowing(simple as unknown as types.Consumer);
    expect(simple.listenerCount('layerschange')).toBe(0);
    const refusal = await preferLayers(simple as unknown as types.Consumer, { spatialLayer: 1 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ProtocolError);
    expect((refusal as ProtocolError).code).toBe('BAD_REQUEST');
  });
});
