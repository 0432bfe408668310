/**
 * Loading the mediasoup-client Device without making the join wait for it.
 *
 * `Device.load()` spends most of its time (~50–60 ms in Chromium) asking the browser for its own RTP
 * capabilities — two throwaway RTCPeerConnections and offers — which depend on the browser alone, not
 * on the server. So those are asked for once per page, as soon as a join starts (in parallel with the
 * signaling connection) or earlier by `ConsultationClient.warmUp()`; the load itself, once the router's capabilities
 * arrive, only matches the two lists.
 */
import { detectDeviceAsync, Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { Chrome74 } from 'mediasoup-client/handlers/Chrome74';
import { Firefox120 } from 'mediasoup-client/handlers/Firefox120';
import { ReactNative106 } from 'mediasoup-client/handlers/ReactNative106';
import { Safari12 } from 'mediasoup-client/handlers/Safari12';
import type { JoinTimeline } from './JoinTimeline.js';
import type { SignalingConnection } from './SignalingConnection.js';

type HandlerFactory = NonNullable<ConstructorParameters<typeof Device>[0]>['handlerFactory'] & object;
type NativeOptions = Parameters<HandlerFactory['getNativeRtpCapabilities']>[0];

const BUILTIN: Record<types.BuiltinHandlerName, { createFactory(options: object): HandlerFactory }> = {
  Chrome111,
  Chrome74,
  Firefox120,
  Safari12,
  ReactNative106,
};

/** Per handler: its factory whose native capabilities are asked for once and remembered. */
const prepared = new Map<types.BuiltinHandlerName, HandlerFactory>();

/**
 * mediasoup-client reads Chromium's version from `navigator.userAgentData`, which pages that are not
 * secure contexts do not have; its user-agent fallback then misses some Chromium builds
 * ("HeadlessChrome/…", embedded browsers). Such a page can still receive (a viewer needs no camera),
 * so the version is read here from the user agent.
 */
async function handlerFor(wanted?: types.BuiltinHandlerName): Promise<types.BuiltinHandlerName | undefined> {
  if (wanted) return wanted;
  const detected = await detectDeviceAsync();
  if (detected) return detected;
  const major = Number(/Chrom(?:e|ium)\/(\d+)/.exec(typeof navigator === 'undefined' ? '' : navigator.userAgent)?.[1] ?? 0);
  return major >= 111 ? 'Chrome111' : major >= 74 ? 'Chrome74' : undefined;
}

function rememberingFactory(name: types.BuiltinHandlerName): HandlerFactory {
  const inner = BUILTIN[name].createFactory({});
  const asked = new Map<string, Promise<types.RtpCapabilities>>();
  const native = (options: NativeOptions): Promise<types.RtpCapabilities> => {
    const key = String(options.direction);
    let pending = asked.get(key);
    if (!pending) {
      pending = inner.getNativeRtpCapabilities(options);
      asked.set(key, pending);
      // A failure is not remembered: the next load asks the browser again.
      pending.catch(() => asked.delete(key));
    }
    return pending;
  };
  const factory: HandlerFactory = { name: inner.name, factory: (o) => inner.factory(o), getNativeRtpCapabilities: native };
  // Asked now, in the background: by the time the router's capabilities arrive the answers are here.
  for (const direction of ['recvonly', 'sendonly'] as const) native({ direction }).catch(() => undefined);
  return factory;
}

/** The handler to use, its browser capabilities asked for in the background (once per page). */
export async function prepareHandler(wanted?: types.BuiltinHandlerName): Promise<HandlerFactory | undefined> {
  const name = await handlerFor(wanted);
  if (!name) return undefined;
  let factory = prepared.get(name);
  if (!factory) {
    factory = rememberingFactory(name);
    prepared.set(name, factory);
  }
  return factory;
}

/** A loaded Device for a router's capabilities; `handler` from prepareHandler() (none: mediasoup-client detects). */
export async function loadDevice(
  handler: Promise<HandlerFactory | undefined>,
  routerRtpCapabilities: types.RtpCapabilities,
): Promise<Device> {
  const handlerFactory = await handler;
  const device = new Device(handlerFactory ? { handlerFactory } : undefined);
  await device.load({ routerRtpCapabilities });
  return device;
}

/** A Device loaded with the router capabilities this connection is sent (the browser's half asked for first). */
export async function loadDeviceFor(
  signaling: SignalingConnection,
  options: { handlerName?: types.BuiltinHandlerName | undefined },
  timeline?: JoinTimeline,
): Promise<Device> {
  // Asked for first: the browser's half of the load runs while the router's capabilities travel.
  const handler = prepareHandler(options.handlerName);
  const rtpCapabilities = await signaling.routerCapabilities();
  timeline?.mark('routerCapabilities');
  const device = await loadDevice(handler, rtpCapabilities);
  timeline?.mark('deviceLoaded');
  return device;
}
