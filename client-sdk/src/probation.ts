/**
 * mediasoup's RTP probation (the padding it sends on a "probator" stream to find how much a receiver
 * can take) needs a matching m-section in the browser. mediasoup-client negotiates it in a second
 * offer/answer of its own, right after the first consumers' — exactly while the transport's ICE and
 * DTLS run and the first key frame arrives, so on a busy machine the browser applies descriptions
 * instead (that second round took 20–140 ms in traced joins, and the page saw its transport connected
 * only after it). Folding the probator into the first consumers' negotiation makes the join one
 * offer/answer.
 *
 * This reaches into mediasoup-client's receive transport (pinned version; see package.json): the
 * handler that turns consumers into SDP, and the flag that says the probator exists. Should either
 * be missing, nothing is changed and mediasoup-client does it its own way.
 */
import { ortc, type types } from 'mediasoup-client';

type ReceiveOptions = { trackId: string; kind: 'audio' | 'video'; rtpParameters: types.RtpParameters };
interface ReceivingHandler {
  receive(list: ReceiveOptions[]): Promise<unknown[]>;
}
interface TransportInternals {
  _handler?: ReceivingHandler;
  _probatorConsumerCreated?: boolean;
}

const PROBATOR_TRACK = 'probator';

export function negotiateProbatorWithFirstVideo(transport: types.Transport): void {
  const internals = transport as unknown as TransportInternals;
  const handler = internals._handler;
  if (!handler || typeof handler.receive !== 'function' || internals._probatorConsumerCreated !== false) return;
  const receive = handler.receive.bind(handler);
  handler.receive = async (list) => {
    const video = internals._probatorConsumerCreated ? undefined : list.find((o) => o.kind === 'video' && o.trackId !== PROBATOR_TRACK);
    if (!video) return receive(list);
    const probator: ReceiveOptions = {
      trackId: PROBATOR_TRACK,
      kind: 'video',
      rtpParameters: ortc.generateProbatorRtpParameters(video.rtpParameters),
    };
    const results = await receive([...list, probator]);
    // Set only once negotiated: mediasoup-client reads it after this returns, and makes its own
    // probator if the batch failed.
    internals._probatorConsumerCreated = true;
    return results.slice(0, list.length);
  };
}

/**
 * Negotiates the probator alone, now, on a receive transport with nothing on it yet — the first
 * offer/answer, which makes mediasoup-client connect the transport (ICE, DTLS) before any consumer
 * exists: a receive transport prepared on the pre-join screen (receiveAhead.ts). Its parameters are
 * those mediasoup-client would derive from a video consumer, built from what the device receives.
 * False (nothing done) if mediasoup-client's internals are not as expected or the device receives no video.
 */
export async function negotiateProbatorAhead(
  transport: types.Transport,
  device: { rtpCapabilities: types.RtpCapabilities },
): Promise<boolean> {
  const internals = transport as unknown as TransportInternals;
  const handler = internals._handler;
  if (!handler || typeof handler.receive !== 'function' || internals._probatorConsumerCreated !== false) return false;
  const caps = device.rtpCapabilities;
  const codec = caps.codecs?.find((c) => c.kind === 'video' && !c.mimeType.toLowerCase().endsWith('/rtx'));
  if (!codec || codec.preferredPayloadType === undefined) return false;
  const video: types.RtpParameters = {
    codecs: [
      {
        mimeType: codec.mimeType,
        payloadType: codec.preferredPayloadType,
        clockRate: codec.clockRate,
        parameters: codec.parameters ?? {},
        rtcpFeedback: codec.rtcpFeedback ?? [],
      },
    ],
    headerExtensions: (caps.headerExtensions ?? [])
      .filter((h) => h.kind === 'video')
      .map((h) => ({ uri: h.uri, id: h.preferredId, encrypt: h.preferredEncrypt ?? false, parameters: {} })),
    encodings: [],
    rtcp: {},
  };
  await handler.receive([{ trackId: PROBATOR_TRACK, kind: 'video', rtpParameters: ortc.generateProbatorRtpParameters(video) }]);
  internals._probatorConsumerCreated = true;
  return true;
}
