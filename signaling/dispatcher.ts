/**
 * The thin dispatcher: validate the payload against the protocol schema, check the session state the
 * handler needs, run it, and turn the outcome into an ack. A handler table that misses a request name
 * does not compile.
 */
import type { Logger } from '../server/logger.js';
import type { ParticipantChannel } from '../server/rooms/Participant.js';
import type { RoomRegistry } from '../server/rooms/RoomRegistry.js';
import type { MediaSettings } from './handlers/media.js';
import {
  ProtocolError,
  parseRequest,
  type Ack,
  type RequestName,
  type RequestPayload,
  type RequestResult,
} from './protocol/index.js';
import type { Session } from './Session.js';

export interface HandlerContext {
  session: Session;
  /** How notifications reach this socket's client. */
  channel: ParticipantChannel;
  rooms: RoomRegistry;
  media: MediaSettings;
  log: Logger;
}

export type Handler<N extends RequestName> = (ctx: HandlerContext, payload: RequestPayload<N>) => Promise<RequestResult<N>> | RequestResult<N>;
export type HandlerTable = { [N in RequestName]: Handler<N> };

export async function dispatch<N extends RequestName>(table: HandlerTable, ctx: HandlerContext, name: N, payload: unknown): Promise<Ack<RequestResult<N>>> {
  try {
    const data = await ctx.session.enqueue(() => {
      const valid = parseRequest(name, payload);
      return table[name](ctx, valid);
    });
    return { ok: true, data };
  } catch (error) {
    return { ok: false, error: toProtocolError(error, name, ctx.log).toWire() };
  }
}

/**
 * mediasoup reports bad parameters as TypeError and wrong states as WorkerClosedError; both are the
 * client's to fix. Anything else is ours: logged with its stack, answered without internals.
 */
export function toProtocolError(error: unknown, request: string, log: Logger): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof TypeError || (error instanceof Error && error.name === 'UnsupportedError')) {
    // Usually mediasoup refusing the client's parameters; logged too, since a bug of ours looks the same.
    log.warn({ err: error, request }, 'request refused as invalid');
    return new ProtocolError('BAD_REQUEST', `${request}: ${error.message}`);
  }
  // mediasoup 3.21 renamed InvalidStateError (a closed worker, router or transport) to WorkerClosedError.
  if (error instanceof Error && (error.name === 'WorkerClosedError' || error.name === 'InvalidStateError')) {
    return new ProtocolError('WRONG_STATE', `${request}: ${error.message}`);
  }
  log.error({ err: error, request }, 'request failed');
  return new ProtocolError('INTERNAL', `${request} failed on the server; it has been logged`);
}
