/**
 * The first picture of a simulcast camera comes from its smallest layer. Someone joining waits on the
 * first key frame of every camera they receive; a 180p key frame is encoded, paced out by the sender
 * and decoded in a fraction of a 720p one's time. So a new video consumer is made preferring spatial
 * layer 0; once that layer flows (its first `layerschange`) it is raised to what the receiver
 * asked for meanwhile, or to the top (mediasoup caps the layer at the producer's highest, and takes the
 * top temporal layer when none is named), and mediasoup switches up at the next key frame as the
 * bandwidth allows — the picture sharpens a moment later instead of arriving later.
 *
 * A receiver's choice made before then (a tile asking for 'high' as soon as the track is shown) is
 * kept, not applied: applied, it would cancel the quick start.
 */
import type { types } from 'mediasoup';
import { badRequest } from '../../signaling/protocol/index.js';

/** The highest layers the producer has (clamped by mediasoup). */
const TOP: types.ConsumerLayers = { spatialLayer: 255 };

/** Consumers still on their first, smallest layer → the layers to raise them to. */
const raiseTo = new WeakMap<types.Consumer, types.ConsumerLayers>();

/**
 * Options for `transport.consume`: a video consumer starts on the smallest layer (mediasoup ignores
 * this for a producer without layers). Set at creation, so it costs no request of its own.
 */
export const START_LAYERS: { preferredLayers: types.ConsumerLayers } = { preferredLayers: { spatialLayer: 0 } };

/** A new consumer made with START_LAYERS: if it has layers, it is raised once the smallest flows. */
export function raiseWhenFlowing(consumer: types.Consumer): void {
  if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return;
  raiseTo.set(consumer, TOP);
  const raise = (layers: types.ConsumerLayers | undefined): void => {
    if (!layers) return;
    consumer.off('layerschange', raise);
    const target = raiseTo.get(consumer) ?? TOP;
    raiseTo.delete(consumer);
    // Closed meanwhile: nothing to raise. Anything else mediasoup says is no reason to fail a picture that flows.
    if (!consumer.closed) consumer.setPreferredLayers(target).catch(() => undefined);
  };
  consumer.on('layerschange', raise);
}

/** The receiver's choice of layers: applied now, or once the first picture flows if it is still starting small. */
export async function preferLayers(consumer: types.Consumer, layers: types.ConsumerLayers): Promise<void> {
  if (consumer.type !== 'simulcast' && consumer.type !== 'svc') throw badRequest('this track has no layers to choose from');
  if (raiseTo.has(consumer)) raiseTo.set(consumer, layers);
  else await consumer.setPreferredLayers(layers);
}
