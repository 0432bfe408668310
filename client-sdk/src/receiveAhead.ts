/**
 * The receive transport made and connected on the pre-join screen (with `preconnect()`): the server
 * makes it on the room's router (`prepareReceive`) if the room is open there, and the probator's
 * offer/answer starts ICE and DTLS at once (probation.ts), so that by the time Join is clicked the
 * path is up and the join's consumers are made on it. The room's tracks come with it (for someone the
 * room would let in at once) and are wired too, so that the join only has to resume them: the first
 * picture then waits only for the sender's key frame. Anything that does not work out leaves the join
 * to make its own transport and consumers.
 */
import type { types } from 'mediasoup-client';
import { loadDeviceFor } from './DeviceLoader.js';
import { negotiateProbatorAhead } from './probation.js';
import type { SignalingConnection } from './SignalingConnection.js';

export interface PreparedReceive {
  device: types.Device;
  transport: types.Transport;
  /** Settles with the server's answer to the transport's DTLS parameters. */
  connected: Promise<void>;
  /**
   * The room's tracks as they were, wired on it ahead (paused on the server: nothing arrives before
   * the join, which resumes those still shown and says whose they are).
   */
  tracks: types.Consumer[];
}

/** The prepared transport, or undefined (the room is not open yet, a broadcast, or a failure: nothing left open). */
export async function prepareReceive(signaling: SignalingConnection): Promise<PreparedReceive | undefined> {
  const device = await loadDeviceFor(signaling, {});
  const { transport: options, tracks = [] } = await signaling.request('prepareReceive', {
    rtpCapabilities: device.rtpCapabilities as never,
  });
  if (!options) return undefined;
  const transport = device.createRecvTransport(options);
  const connected = new Promise<void>((resolve, reject) =>
    transport.on('connect', ({ dtlsParameters }, callback) => {
      // Answered at once, as for every transport of the SDK (MediaSession #connect): ICE goes ahead.
      signaling.request('connectPrepared', { transportId: transport.id, dtlsParameters }).then(() => resolve(), reject);
      callback();
    }),
  );
  connected.catch(() => undefined);
  try {
    if (!(await negotiateProbatorAhead(transport, device))) throw new Error('the probator could not be negotiated ahead');
    // One offer/answer for them all (mediasoup-client batches the consumers asked for in one tick),
    // while ICE and DTLS run; a track that fails is simply not wired: the join makes it as usual.
    const wired = await Promise.allSettled(
      tracks.map(({ id, producerId, kind, rtpParameters }) => transport.consume({ id, producerId, kind, rtpParameters })),
    );
    await connected;
    return { device, transport, connected, tracks: wired.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) };
  } catch {
    transport.close();
    return undefined;
  }
}
