/**
 * The receive transport made and connected on the pre-join screen (with `preconnect()`): the server
 * makes it on the room's router (`prepareReceive`) if the room is open there, and the probator's
 * offer/answer starts ICE and DTLS at once (probation.ts), so that by the time Join is clicked the
 * path is up and the join's consumers are made on it: the first picture then waits only for the
 * sender's key frame. Anything that does not work out leaves the join to make its own transport.
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
}

/** The prepared transport, or undefined (the room is not open yet, a broadcast, or a failure: nothing left open). */
export async function prepareReceive(signaling: SignalingConnection): Promise<PreparedReceive | undefined> {
  const device = await loadDeviceFor(signaling, {});
  const { transport: options } = await signaling.request('prepareReceive', {});
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
    await connected;
    return { device, transport, connected };
  } catch {
    transport.close();
    return undefined;
  }
}
