/**
 * Entering a room: the `join` request (receiving at once when the room lets us in), and waiting in
 * the lobby of a locked room until a moderator admits (or declines) us, or the person gives up.
 */
import { ProtocolError, type JoinResult } from '../../signaling/protocol/types/index.js';
import type { JoinOptions } from './ConsultationClient.js';
import type { JoinTimeline } from './JoinTimeline.js';
import type { MediaSession } from './MediaSession.js';
import type { SignalingConnection } from './SignalingConnection.js';

/** Resolves with the room snapshot when a moderator admits us; rejects if declined or ended. */
export function waitForAdmission(signaling: SignalingConnection): { promise: Promise<JoinResult>; cancel(): void } {
  const offs: (() => void)[] = [];
  const cancel = () => offs.forEach((off) => off());
  const promise = new Promise<JoinResult>((resolve, reject) => {
    offs.push(signaling.on('admitted', (snapshot) => (cancel(), resolve(snapshot))));
    offs.push(
      signaling.on('sessionEnded', ({ reason, message }) => (cancel(), reject(new ProtocolError('FORBIDDEN', message, { reason })))),
    );
    offs.push(
      signaling.on(
        'lost',
        () => (cancel(), reject(new ProtocolError('UNAVAILABLE', 'the connection was lost while waiting in the lobby'))),
      ),
    );
  });
  promise.catch(() => undefined);
  return { promise, cancel };
}

/**
 * `join` on an open connection, waiting in the lobby if the room is locked: the first join and every
 * rejoin. `first` (the first join only): its timeline, and `signal` — the person gave up waiting.
 */
export async function enterRoom(
  signaling: SignalingConnection,
  media: MediaSession,
  options: JoinOptions,
  first: { timeline?: JoinTimeline; signal?: AbortSignal | undefined } = {},
): Promise<JoinResult> {
  const admitted = waitForAdmission(signaling);
  const response = await signaling
    .request('join', {
      rtpCapabilities: media.device.rtpCapabilities as never,
      ...(options.roomId ? { roomId: options.roomId } : {}),
      // The receive transport and the room's tracks in the same answer: fewer round trips to the first picture.
      receive: {
        ...(options.forceTcp ? { forceTcp: true } : {}),
        ...(media.preparedReceiveId ? { transportId: media.preparedReceiveId, wired: media.wiredAhead } : {}),
      },
    })
    .catch((error: unknown) => {
      admitted.cancel();
      throw error;
    });
  if (response.status === 'joined') {
    admitted.cancel();
    first.timeline?.mark('joined');
    if (response.receive) media.receiveWith(response.receive);
    else media.dropPrepared();
    return response;
  }
  media.dropPrepared(); // closed on the server when the join waits in the lobby
  options.onWaiting?.(response.self);
  const result = await (first.signal ? leaveLobbyOnAbort(signaling, admitted, first.signal) : admitted.promise);
  first.timeline?.mark('joined');
  return result;
}

/** Waits for admission unless `signal` aborts first: then leaves the lobby and rejects with an AbortError. */
async function leaveLobbyOnAbort(
  signaling: SignalingConnection,
  admitted: { promise: Promise<JoinResult>; cancel(): void },
  signal: AbortSignal,
): Promise<JoinResult> {
  let onAbort = (): void => undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const outcome = await Promise.race([admitted.promise, aborted]);
    if (outcome !== 'aborted') return outcome;
    admitted.cancel();
    await signaling.request('leave', {}).catch(() => undefined); // the socket closes next anyway
    throw new DOMException('left the lobby before being admitted', 'AbortError');
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
