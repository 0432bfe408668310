/**
 * The request a log line belongs to. Every signaling request and every HTTP request runs inside a
 * context holding its request id; the logger adds it to each line written while that request is
 * being handled — by the handler, the room core, the case record — without threading a logger
 * through every call. (The room id is not kept here: the loggers of signaling connections and rooms
 * carry it as a binding already, and pino would write a second `room` key.)
 *
 * The context is marked `done` once the request is over (a signaling request: answered, and its
 * handler finished — one that outlives its time bound still logs under its id). Work the request
 * started and that goes on afterwards (a room's quality timer created by a join, a hand-off in the background) inherits the
 * same context object through async hooks; from then on it carries no request id, so a later line
 * is not wrongly attributed to the request that happened to create its timer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

export interface RequestContext {
  readonly requestId: string;
  done: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A request id made here: 16 hex characters, enough to tell requests apart in a day of logs. */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * An id a caller sent (a proxy's or the hospital system's `X-Request-Id`) is kept when it is short
 * and plain, so one id follows the request across systems; anything else is replaced, since it would
 * be written into every log line as it is.
 */
export function acceptRequestId(incoming: unknown): string {
  return typeof incoming === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : newRequestId();
}

/** Runs `work` as request `requestId`; the context ends when `work` settles. */
export async function inRequest<T>(context: Omit<RequestContext, 'done'>, work: () => Promise<T>): Promise<T> {
  const current: RequestContext = { ...context, done: false };
  try {
    return await storage.run(current, work);
  } finally {
    current.done = true;
  }
}

/** Starts a context for a request whose end is signalled later (an HTTP response): call the returned function then. */
export function enterRequest(context: Omit<RequestContext, 'done'>, next: () => void): () => void {
  const current: RequestContext = { ...context, done: false };
  storage.run(current, next);
  return () => {
    current.done = true;
  };
}

/** The request being handled here, if any (ended requests count as none). */
export function currentRequestId(): string | undefined {
  const current = storage.getStore();
  return current && !current.done ? current.requestId : undefined;
}

/** The fields the logger adds to a line: the request's id while it is being handled, nothing otherwise. */
export function requestLogFields(): { reqId?: string } {
  const requestId = currentRequestId();
  return requestId === undefined ? {} : { reqId: requestId };
}
