/**
 * The SDK folds mediasoup's probation m-section into the first receive negotiation that has a video
 * (client-sdk/src/probation.ts). Checked here against mediasoup-client's own transport and its fake
 * handler: what reaches the handler, in how many rounds, and that mediasoup-client then makes no
 * probator of its own. The browser side (one offer/answer, probation packets arriving) is in
 * test/e2e/join-path.e2e.test.ts.
 */
import { Device, FakeHandler, testFakeParameters, type types } from 'mediasoup-client';
import { describe, expect, it } from 'vitest';
import { negotiateProbatorAhead, negotiateProbatorWithFirstVideo } from '../../client-sdk/src/probation.js';

type Batch = { trackId: string; kind: string; mid: string | undefined }[];

async function receiveTransport(): Promise<{ transport: types.Transport; batches: Batch[]; device: Device; connects: number[] }> {
  const device = new Device({ handlerFactory: FakeHandler.createFactory(testFakeParameters) });
  await device.load({ routerRtpCapabilities: testFakeParameters.generateRouterRtpCapabilities() });
  const transport = device.createRecvTransport(testFakeParameters.generateTransportRemoteParameters());
  const connects: number[] = [];
  transport.on('connect', (_params, callback) => {
    connects.push(batchesSoFar());
    callback();
  });
  // What the handler is asked to negotiate, batch by batch (recorded beneath the SDK's wrapper).
  const handler = (transport as unknown as { _handler: { receive(list: Batch): Promise<unknown[]> } })._handler;
  const batches: Batch[] = [];
  const batchesSoFar = () => batches.length;
  const receive = handler.receive.bind(handler);
  handler.receive = (list) => {
    batches.push(
      list.map((o) => ({ trackId: o.trackId, kind: o.kind, mid: (o as { rtpParameters?: { mid?: string } }).rtpParameters?.mid })),
    );
    return receive(list);
  };
  negotiateProbatorWithFirstVideo(transport);
  return { transport, batches, device, connects };
}

function consume(transport: types.Transport, id: string, kind: 'audio' | 'video'): Promise<types.Consumer> {
  const codecMimeType = kind === 'audio' ? 'audio/opus' : 'video/VP8';
  const params = testFakeParameters.generateConsumerRemoteParameters({ id, codecMimeType });
  return transport.consume({ id, producerId: params.producerId, kind, rtpParameters: params.rtpParameters });
}

describe('the probation m-section rides with the first video', () => {
  it('one negotiation for the first camera and microphone, the probator appended; none of its own after', async () => {
    const { transport, batches } = await receiveTransport();
    const [mic, camera] = await Promise.all([consume(transport, 'mic-zhou', 'audio'), consume(transport, 'cam-zhou', 'video')]);
    expect([mic.kind, camera.kind]).toEqual(['audio', 'video']);
    // The caller gets its two consumers, not the probator.
    expect(mic.track.kind).toBe('audio');
    expect(camera.track.kind).toBe('video');
    await consume(transport, 'cam-sun', 'video');
    expect(batches.map((b) => b.map((o) => o.trackId))).toEqual([['mic-zhou', 'cam-zhou', 'probator'], ['cam-sun']]);
    expect(batches[0]![2]).toMatchObject({ kind: 'video', mid: 'probator' });
    transport.close();
  });

  it('a microphone alone brings no probator; it comes with the first camera', async () => {
    const { transport, batches } = await receiveTransport();
    await consume(transport, 'mic-sun', 'audio');
    await consume(transport, 'cam-sun', 'video');
    expect(batches.map((b) => b.map((o) => o.trackId))).toEqual([['mic-sun'], ['cam-sun', 'probator']]);
    transport.close();
  });

  it('made ahead (a pre-join screen): the probator alone connects the transport; the consumers come after, without another', async () => {
    const { transport, batches, device, connects } = await receiveTransport();
    expect(await negotiateProbatorAhead(transport, device)).toBe(true);
    expect(batches).toEqual([[{ trackId: 'probator', kind: 'video', mid: 'probator' }]]);
    expect(connects).toEqual([1]); // the transport connected with that first negotiation
    await Promise.all([consume(transport, 'mic-zhou', 'audio'), consume(transport, 'cam-zhou', 'video')]);
    expect(batches.map((b) => b.map((o) => o.trackId))).toEqual([['probator'], ['mic-zhou', 'cam-zhou']]);
    expect(connects).toHaveLength(1);
    // Once is enough: a second call does nothing.
    expect(await negotiateProbatorAhead(transport, device)).toBe(false);
    transport.close();
  });
});
