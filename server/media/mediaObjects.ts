/**
 * What lives on one media worker right now — routers, transports, producers, consumers — counted
 * from mediasoup's observer events as they are created and closed, so `/metrics` can say which
 * worker is loaded with what without asking the worker anything. A router or transport closing
 * closes what it holds, and mediasoup emits each of those objects' own 'close', so the counts come
 * back down by themselves (a dead worker's counts go with its slot).
 */
import type { types } from 'mediasoup';

export interface MediaObjectCounts {
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

type Closing = { once(event: 'close', listener: () => void): unknown };

/** Starts counting on a worker that has no router yet; the returned counts stay live. */
export function countMediaObjects(worker: types.Worker): Readonly<MediaObjectCounts> {
  const counts: MediaObjectCounts = { routers: 0, transports: 0, producers: 0, consumers: 0 };
  const track = (kind: keyof MediaObjectCounts, observer: Closing): void => {
    counts[kind]++;
    observer.once('close', () => counts[kind]--);
  };
  worker.observer.on('newrouter', (router) => {
    track('routers', router.observer);
    router.observer.on('newtransport', (transport) => {
      track('transports', transport.observer);
      transport.observer.on('newproducer', (producer) => track('producers', producer.observer));
      transport.observer.on('newconsumer', (consumer) => track('consumers', consumer.observer));
    });
  });
  return counts;
}
