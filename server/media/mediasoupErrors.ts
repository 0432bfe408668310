/**
 * mediasoup reports parameters it refuses as TypeError (or UnsupportedError) and operations on
 * closed objects as WorkerClosedError (InvalidStateError before 3.21). Where we hand it something the client sent, those are the
 * client's to fix and are answered as such; everywhere else the same errors are bugs of ours and
 * stay unmapped, so the dispatcher answers INTERNAL and logs the stack.
 *
 * Some refusals come from the worker itself: its Channel rejects with a plain `Error` carrying the
 * worker's reason (MediaSoupError in C++; only TypeError and NotFoundError keep their class). Of
 * those, the ones a client causes with what it sent are listed below by their reason; any other plain
 * Error (a duplicate id we generated, an unknown method) is ours and stays INTERNAL.
 */
import { badRequest, ProtocolError, wrongState } from '../../signaling/protocol/index.js';

/** Worker refusals caused by client input (worker/src/RTC/RtpListener.cpp, WebRtcTransport.cpp), as people would say them. */
const CLIENT_WORKER_REFUSALS: { reason: RegExp; answer: (what: string, reason: string) => ProtocolError }[] = [
  {
    reason: /^(RTX )?ssrc already exists in RTP listener/,
    answer: (what, reason) => badRequest(`${what}: an SSRC in rtpParameters is already used by another of your tracks (${reason})`),
  },
  {
    reason: /^MID already exists in RTP listener/,
    answer: (what, reason) => badRequest(`${what}: the MID in rtpParameters is already used by another of your tracks (${reason})`),
  },
  {
    reason: /^RID already exists in RTP listener/,
    answer: (what, reason) =>
      badRequest(`${what}: a RID in rtpParameters is already used by another of your tracks and no MID sets them apart (${reason})`),
  },
  { reason: /^connect\(\) already called/, answer: (what) => wrongState(`${what}: transport already connected`) },
];

export function fromMediasoup(error: unknown, what: string): unknown {
  if (error instanceof ProtocolError || !(error instanceof Error)) return error;
  if (error instanceof TypeError || error.name === 'UnsupportedError') return badRequest(`${what}: ${error.message}`);
  // mediasoup 3.21 renamed InvalidStateError (a closed worker, router or transport) to WorkerClosedError.
  if (error.name === 'WorkerClosedError' || error.name === 'InvalidStateError') return wrongState(`${what}: ${error.message}`);
  if (error.constructor === Error) {
    const refusal = CLIENT_WORKER_REFUSALS.find(({ reason }) => reason.test(error.message));
    if (refusal) return refusal.answer(what, error.message);
  }
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
