/** Waiting in the lobby of a locked room until a moderator admits (or declines) us. */
import { ProtocolError, type JoinResult } from '../../signaling/protocol/types/index.js';
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
