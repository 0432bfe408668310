/**
 * A client's request on a consumer that the worker closed a moment ago (its producer just went) while
 * Node has not heard yet: the worker says "Channel request handler … not found". That is answered
 * NOT_FOUND, as the same request is a moment later — not INTERNAL (seen in the in-call e2e: a page's
 * layout asked for other layers just as a participant left). Real worker, the close and the request
 * queued on its channel in that order.
 */
import * as mediasoup from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/codecs.js';
import { clientCall } from '../../server/media/mediasoupErrors.js';
import { ProtocolError } from '../../signaling/protocol/index.js';
import { fakeRtpParameters } from '../helpers/signalingClient.js';

let worker: mediasoup.types.Worker;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'none' });
});
afterAll(() => worker?.close());

async function cameraAndConsumer(router: mediasoup.types.Router) {
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const send = await router.createWebRtcTransport({ listenInfos });
  const recv = await router.createWebRtcTransport({ listenInfos });
  const camera = await send.produce({ kind: 'video', rtpParameters: fakeRtpParameters('video', 3101) as mediasoup.types.RtpParameters });
  const consumer = await recv.consume({ producerId: camera.id, rtpCapabilities: router.rtpCapabilities, paused: true });
  return { camera, consumer };
}

describe('a request racing the close of what it names', () => {
  it('is answered NOT_FOUND, not INTERNAL', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { camera, consumer } = await cameraAndConsumer(router);
    camera.close(); // the worker closes the consumer with it; Node hears of it only afterwards
    const error = await clientCall('resumeConsumer', () => consumer.resume()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/^resumeConsumer: it has just closed/) });
    router.close();
  });

  it('other worker refusals keep their mapping; a request on a live consumer works', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { consumer } = await cameraAndConsumer(router);
    await clientCall('resumeConsumer', () => consumer.resume());
    expect(consumer.paused).toBe(false);
    const refused = await clientCall('setPreferredLayers', () => consumer.setPreferredLayers({ spatialLayer: 'x' as never })).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'BAD_REQUEST' });
    router.close();
  });
});
