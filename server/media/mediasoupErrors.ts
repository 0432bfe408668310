/**
 * mediasoup reports parameters it refuses as TypeError (or UnsupportedError) and operations on
 * closed objects as WorkerClosedError (InvalidStateError before 3.21). Where we hand it something the client sent, those are the
 * client's to fix and are answered as such; everywhere else the same errors are bugs of ours and
 * stay unmapped, so the dispatcher answers INTERNAL and logs the stack.
 */
import { badRequest, ProtocolError, wrongState } from '../../signaling/protocol/index.js';

export function fromMediasoup(error: unknown, what: string): unknown {
  if (error instanceof ProtocolError || !(error instanceof Error)) return error;
  if (error instanceof TypeError || error.name === 'UnsupportedError') return badRequest(`${what}: ${error.message}`);
  // mediasoup 3.21 renamed InvalidStateError (a closed worker, router or transport) to WorkerClosedError.
  if (error.name === 'WorkerClosedError' || error.name === 'InvalidStateError') return wrongState(`${what}: ${error.message}`);
  return error;
}

/** Runs a mediasoup call that carries client-supplied parameters, mapping its refusals. */
export async function clientCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromMediasoup(error, what);
  }
}
