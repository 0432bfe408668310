/**
 * The first picture of a simulcast camera comes from its smallest layer. Someone joining waits on the
 * first key frame of every camera they receive; a 180p key frame is paced out by the sender and
 * decoded in a fraction of a 720p one's time. So a new video consumer of a camera whose smallest
 * layer is flowing now (its score above 0: never start on a layer that is not there) is made
 * preferring spatial layer 0, and raised RAISE_AFTER_MS after that layer flows — to the top
 * (mediasoup caps the layer at the producer's highest and takes the top temporal layer when none is
 * named) or to what the receiver asked for meanwhile — and mediasoup switches up at the next key
 * frame as the bandwidth allows: the picture sharpens a moment later instead of arriving later.
 * Raised right away, the 720p key frame the encoder makes together with the small one overtook it.
 * Should the small layer not flow within RAISE_AT_LATEST_MS (it stalled, or the consumer stayed
 * paused), it is raised anyway: starting small must never keep a picture away.
 *
 * A receiver's choice made before then (a tile asking for 'high' as soon as the track is shown) is
 * kept, not applied: applied, it would cancel the quick start.
 */
import type { types } from 'mediasoup';
import { badRequest } from '../../signaling/protocol/index.js';

/** The highest layers the producer has (clamped by mediasoup). */
const TOP: types.ConsumerLayers = { spatialLayer: 255 };
export const RAISE_AFTER_MS = 400;
export const RAISE_AT_LATEST_MS = 2000;

/** Consumers still on their first, smallest layer → the layers to raise them to. */
const raiseTo = new WeakMap<types.Consumer, types.ConsumerLayers>();

/** Options for `transport.consume` of `producer`: its smallest layer first if that one is flowing. */
export function startLayers(producer: types.Producer): { preferredLayers?: types.ConsumerLayers } {
  const smallest = producer.score.find((s) => s.encodingIdx === 0);
  return producer.kind === 'video' && producer.type === 'simulcast' && (smallest?.score ?? 0) > 0
    ? { preferredLayers: { spatialLayer: 0 } }
    : {};
}

/** A consumer made with startLayers(): raised once its smallest layer has flowed a moment, or at the latest after RAISE_AT_LATEST_MS. */
export function raiseLater(consumer: types.Consumer): void {
  if (consumer.type !== 'simulcast' || consumer.preferredLayers?.spatialLayer !== 0) return;
  raiseTo.set(consumer, TOP);
  const raise = (): void => {
    clearTimeout(latest);
    clearTimeout(soon);
    consumer.off('layerschange', flowing);
    const target = raiseTo.get(consumer) ?? TOP;
    raiseTo.delete(consumer);
    // Closed meanwhile: nothing to raise. Anything else mediasoup says is no reason to fail a picture that flows.
    if (!consumer.closed) consumer.setPreferredLayers(target).catch(() => undefined);
  };
  let soon: NodeJS.Timeout | undefined;
  const flowing = (layers: types.ConsumerLayers | undefined): void => {
    if (!layers || soon) return;
    soon = setTimeout(raise, RAISE_AFTER_MS);
  };
  const latest = setTimeout(raise, RAISE_AT_LATEST_MS);
  consumer.on('layerschange', flowing);
  consumer.observer.once('close', () => {
    clearTimeout(latest);
    clearTimeout(soon);
  });
}

/** The receiver's choice of layers: applied now, or when it is raised if it is still starting small. */
export async function preferLayers(consumer: types.Consumer, layers: types.ConsumerLayers): Promise<void> {
  if (consumer.type !== 'simulcast' && consumer.type !== 'svc') throw badRequest('this track has no layers to choose from');
  if (raiseTo.has(consumer)) raiseTo.set(consumer, layers);
  else await consumer.setPreferredLayers(layers);
}
