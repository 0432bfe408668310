/**
 * Fast start: a simulcast camera's first picture comes from its lowest layer. A joining doctor waits
 * on the sender's key frame, and the top layer's is the largest of the three to encode and to pace out
 * (the sender paces at ≈ 2.5 × its target bitrate; the lowest layer's key frame is about a tenth of
 * the 720p one). In traced joins on loopback the request → key-frame-forwarded time fell from ≈ 70 to
 * ≈ 45 ms, though an interleaved bench:join shows no first-picture difference there (README); the
 * saving grows with a slower uplink. So a new consumer of a simulcast producer is created preferring
 * spatial layer 0, and once its first frame has gone out it is moved to the layers the client wants
 * (the top ones unless it asked otherwise). The move waits a little: the sender's encoder ignores a
 * key-frame request that follows another within ~300 ms (libwebrtc), and the switch up needs one.
 */
import { parseScalabilityMode, type types } from 'mediasoup';

/** How long after the first frame the consumer moves up (past the sender's key-frame request guard). */
export const FAST_START_UPGRADE_DELAY_MS = 350;
/** If no frame went out by then (the lowest layer is not being sent), move up anyway. */
export const FAST_START_GIVE_UP_MS = 2000;

interface Pending {
  /** What the client asked for meanwhile; undefined: the top layers. */
  wanted?: types.ConsumerLayers;
  timer: NodeJS.Timeout;
}

const pending = new WeakMap<types.Consumer, Pending>();

/** Options for `transport.consume()` of `producer`: the lowest layer first, for simulcast video. */
export function fastStartLayers(producer: types.Producer): { preferredLayers?: types.ConsumerLayers } {
  return producer.kind === 'video' && producer.type === 'simulcast' ? { preferredLayers: { spatialLayer: 0 } } : {};
}

/** Moves `consumer`, made with `fastStartLayers`, to the wanted layers once its first frame went out. */
export function followFastStart(consumer: types.Consumer): void {
  if (consumer.type !== 'simulcast' || consumer.preferredLayers?.spatialLayer !== 0) return;
  const state: Pending = { timer: setTimeout(() => moveUp(consumer), FAST_START_GIVE_UP_MS) };
  state.timer.unref();
  pending.set(consumer, state);
  const onLayers = (layers?: types.ConsumerLayers): void => {
    if (!layers) return;
    consumer.off('layerschange', onLayers);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => moveUp(consumer), FAST_START_UPGRADE_DELAY_MS);
    state.timer.unref();
  };
  consumer.on('layerschange', onLayers);
  consumer.observer.once('close', () => {
    clearTimeout(state.timer);
    pending.delete(consumer);
  });
}

/**
 * The client chose layers. Before the first frame, a choice above the lowest layer is kept for the
 * move up (true: nothing to do now); the lowest layer, or any choice afterwards, applies at once.
 */
export function deferLayerChoice(consumer: types.Consumer, layers: types.ConsumerLayers): boolean {
  const state = pending.get(consumer);
  if (!state) return false;
  if (layers.spatialLayer === 0) {
    clearTimeout(state.timer);
    pending.delete(consumer);
    return false;
  }
  state.wanted = layers;
  return true;
}

function moveUp(consumer: types.Consumer): void {
  const state = pending.get(consumer);
  pending.delete(consumer);
  if (!state || consumer.closed) return;
  void consumer.setPreferredLayers(state.wanted ?? topLayers(consumer)).catch(() => undefined); // closed meanwhile
}

function topLayers(consumer: types.Consumer): types.ConsumerLayers {
  const { spatialLayers, temporalLayers } = parseScalabilityMode(consumer.rtpParameters.encodings?.[0]?.scalabilityMode);
  return { spatialLayer: spatialLayers - 1, temporalLayer: temporalLayers - 1 };
}
