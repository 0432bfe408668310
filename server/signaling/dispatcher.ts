/**
 * The dispatcher: every request passes the same gates before its handler runs, in this order —
 * the connection's state must be one the request declares, the payload must pass the protocol
 * schema, the participant must hold the permission the request declares — and the outcome becomes
 * an ack. Handlers are check → call → return: the rules live in the room core (server/rooms).
 */
import type { types } from 'mediasoup';
import {
  forbidden,
  parseRequest,
  ProtocolError,
  wrongState,
  type Ack,
  type ErrorCode,
  type Permission,
  type RequestName,
  type RequestPayload,
  type RequestResult,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { PreflightLab } from '../media/PreflightLab.js';
import type { IngestService } from '../ingest/IngestService.js';
import type { TurnSettings } from '../media/turnCredentials.js';
import type { Participant, ParticipantChannel } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { currentRequestId, inRequest, newRequestId } from '../requestContext.js';
import { RequestTimedOut, type ConnectionState, type Session } from './Session.js';

/** What handlers reach beyond the room: shared by every connection. */
export interface SignalingServices {
  routerCapabilities: types.RtpCapabilities;
  turn: TurnSettings | undefined;
  hls: HlsService;
  /** The pre-call check's test transports (absent: `preflight` is answered UNAVAILABLE). */
  preflight?: PreflightLab | undefined;
  /** Encoders' ingests (absent in unit tests that build signaling without them). */
  ingests?: IngestService | undefined;
}

export interface HandlerContext {
  session: Session;
  /** How notifications reach this socket's client. */
  channel: ParticipantChannel;
  rooms: RoomRegistry;
  services: SignalingServices;
  log: Logger;
  /** The bound on each request, from its arrival to its answer (SIGNALING_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number | undefined;
  /** Where each request's time and outcome is counted (`/metrics`); none in unit tests. */
  outcomes?: RequestOutcomes | undefined;
}

/** One answered request: its name, the time from arrival to answer, and the refusal's code (null: answered ok). */
export interface RequestOutcome {
  name: RequestName;
  seconds: number;
  error: ErrorCode | null;
}

export interface RequestOutcomes {
  requestAnswered(outcome: RequestOutcome, session: Session): void;
}

/** Used when the context names no bound; below the SDK's own 15 s, so the client hears the server's reason. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The context of a request from a participant in the room (`joined`): who asks, and where. */
export interface JoinedContext extends HandlerContext {
  me: Participant;
  room: Room;
}

/** What a request needs the participant to hold: any one of `anyOf`; `what` finishes "a <role> may not …". */
export interface PermissionNeed {
  anyOf: readonly Permission[];
  what: string;
}

/** A fixed need, or one that depends on the payload (e.g. which source is published). */
export type PermissionRule<N extends RequestName> =
  PermissionNeed | ((payload: RequestPayload<N>, me: Participant) => PermissionNeed | null);

export interface RequestSpec<N extends RequestName> {
  /** Connection states in which the request is accepted; any other is answered WRONG_STATE. */
  states: readonly ConnectionState[];
  /** Checked after validation; absent means any participant in an accepted state may ask. */
  permission?: PermissionRule<N> | undefined;
}

export interface HandlerEntry<N extends RequestName> extends RequestSpec<N> {
  run(ctx: HandlerContext, payload: RequestPayload<N>): Promise<RequestResult<N>> | RequestResult<N>;
}

export type HandlerTable = { [N in RequestName]: HandlerEntry<N> };

export const need = (permission: Permission, what: string): PermissionNeed => ({ anyOf: [permission], what });

/** A request that acts in a state other than `joined` (entering, leaving, capabilities). */
export function inStates<N extends RequestName>(
  states: readonly ConnectionState[],
  run: (ctx: HandlerContext, payload: RequestPayload<N>) => Promise<RequestResult<N>> | RequestResult<N>,
): HandlerEntry<N> {
  return { states, run };
}

/** A request from a participant in the room, with the permission it needs (null: none). */
export function joined<N extends RequestName>(
  permission: PermissionRule<N> | null,
  run: (ctx: JoinedContext, payload: RequestPayload<N>) => Promise<RequestResult<N>> | RequestResult<N>,
): HandlerEntry<N> {
  return {
    states: ['joined'],
    permission: permission ?? undefined,
    run: (ctx, payload) => {
      const current = ctx.session.current;
      if (!current) throw new Error('dispatcher let a joined-only request through without a participant');
      return run({ ...ctx, me: current.participant, room: current.room }, payload);
    },
  };
}

const STATE_REFUSALS: Record<ConnectionState, string> = {
  none: 'join the room first',
  waiting: 'you are waiting in the lobby until a moderator admits you',
  joined: 'already joined; leave first',
  replaced: 'this connection was replaced by a newer one',
};

/** The permission a request needs from `me` with this payload, or null when it needs none. */
export function requiredPermission<N extends RequestName>(
  spec: RequestSpec<N>,
  payload: RequestPayload<N>,
  me: Participant,
): PermissionNeed | null {
  const rule = spec.permission;
  if (!rule) return null;
  return typeof rule === 'function' ? rule(payload, me) : rule;
}

/** Runs the gates of `spec` for this request; throws WRONG_STATE, BAD_REQUEST or FORBIDDEN. */
function admit<N extends RequestName>(spec: RequestSpec<N>, ctx: HandlerContext, name: N, raw: unknown): RequestPayload<N> {
  const state = ctx.session.state;
  if (!spec.states.includes(state)) throw wrongState(STATE_REFUSALS[state]);
  const payload = parseRequest(name, raw);
  const me = ctx.session.current?.participant;
  const needed = me ? requiredPermission(spec, payload, me) : null;
  if (me && needed && !needed.anyOf.some((p) => me.can(p))) {
    throw forbidden(`a ${me.info.role} may not ${needed.what} in a ${me.principal.kind} room`);
  }
  return payload;
}

/**
 * Answers one request: through its gates and handler, within its time bound. It runs as a request of
 * its own (a fresh request id on every log line written meanwhile, see requestContext.ts), and its
 * time and outcome are counted.
 */
export async function dispatch<N extends RequestName>(
  table: HandlerTable,
  ctx: HandlerContext,
  name: N,
  raw: unknown,
): Promise<Ack<RequestResult<N>>> {
  const started = performance.now();
  const requestId = newRequestId();
  const ack = await inRequest({ requestId }, () => answer(table, ctx, name, raw, requestId));
  const seconds = (performance.now() - started) / 1000;
  ctx.outcomes?.requestAnswered({ name, seconds, error: ack.ok ? null : ack.error.code }, ctx.session);
  return ack;
}

async function answer<N extends RequestName>(
  table: HandlerTable,
  ctx: HandlerContext,
  name: N,
  raw: unknown,
  requestId: string,
): Promise<Ack<RequestResult<N>>> {
  const timeoutMs = ctx.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  try {
    const entry: HandlerEntry<N> = table[name];
    // The handler runs as the request too, until it finishes: one that outlives its answer (timed
    // out) still logs under the request's id.
    const run = (deadline: AbortSignal) => inRequest({ requestId }, () => runEntry(entry, ctx, name, raw, deadline));
    const data = await ctx.session.enqueue(run, timeoutMs);
    return { ok: true, data };
  } catch (error) {
    if (error instanceof RequestTimedOut) {
      ctx.log.warn(
        { request: name, timeoutMs, started: error.started },
        `${name} not finished within ${timeoutMs} ms (a media worker not answering?): answered UNAVAILABLE`,
      );
      return { ok: false, error: new ProtocolError('UNAVAILABLE', REQUEST_TIMEOUT_MESSAGE).toWire() };
    }
    return { ok: false, error: toProtocolError(error, name, ctx.log).toWire() };
  }
}

export const REQUEST_TIMEOUT_MESSAGE = 'the media server did not answer in time; please retry';

/** Requests that give this connection a participant. */
const ENTERING: ReadonlySet<RequestName> = new Set<RequestName>(['join', 'resume']);
/** Connections whose join or resume is still running (after its time ran out, the queue no longer holds the next one back). */
const entering = new WeakSet<Session>();

/**
 * The gates, then the handler. A handler still running when its request ran out of time goes on
 * (a mediasoup call cannot be withdrawn); what it then produces is handled here, since the client
 * was answered UNAVAILABLE and will retry:
 * - a join or resume that completes late made a participant the client does not know it has: that
 *   participant leaves at once, so the retry is not refused as "already joined"; and while such a
 *   join runs, another one on the same connection is refused UNAVAILABLE rather than racing it;
 * - a transport, producer or consumer created late is not closed here: it belongs to the
 *   participant, who did not learn its id and so never uses it, and it goes with the participant's
 *   normal cleanup (leave, removal, room close). A call runs late because its worker hangs, and a
 *   hung worker is killed by the pool's health check, closing its routers and everything on them.
 * The late outcome is logged, never sent: the request's one ack has gone.
 */
async function runEntry<N extends RequestName>(
  entry: HandlerEntry<N>,
  ctx: HandlerContext,
  name: N,
  raw: unknown,
  deadline: AbortSignal,
): Promise<RequestResult<N>> {
  const payload = admit(entry, ctx, name, raw);
  const enters = ENTERING.has(name);
  if (enters && entering.has(ctx.session))
    throw new ProtocolError('UNAVAILABLE', 'your earlier join is still being completed by the media server; retry shortly');
  if (enters) entering.add(ctx.session);
  try {
    const result = await entry.run(ctx, payload);
    if (deadline.aborted) discardLate(ctx, name, result);
    return result;
  } catch (error) {
    // A refusal's message may name a person (a moderator's target): the code says enough here.
    const err = error instanceof ProtocolError ? { code: error.code } : error;
    if (deadline.aborted) ctx.log.warn({ request: name, err }, `${name} failed after it had been answered UNAVAILABLE`);
    throw error;
  } finally {
    if (enters) entering.delete(ctx.session);
  }
}

function discardLate<N extends RequestName>(ctx: HandlerContext, name: N, result: RequestResult<N>): void {
  const current = ctx.session.current;
  const undo = ENTERING.has(name) && current?.participant.id === (result as RequestResult<'join' | 'resume'>).self.id;
  ctx.log.warn({ request: name, undone: undo }, `${name} finished after it had been answered UNAVAILABLE; its result is discarded`);
  if (undo && current) current.room.remove(current.participant, 'left');
}

/**
 * Refusals are ProtocolErrors, made by the gates, the room core, or where mediasoup is handed what
 * the client sent (server/media/mediasoupErrors.ts). Anything else is a bug of ours: logged with its
 * stack, answered without internals.
 */
export function toProtocolError(error: unknown, request: string, log: Logger): ProtocolError {
  if (error instanceof ProtocolError) return error;
  log.error({ err: error, request }, 'request failed');
  // The request id lets the server's operator find this line from what the user reports.
  const id = currentRequestId();
  return new ProtocolError('INTERNAL', `${request} failed on the server; it has been logged${id ? ` (request ${id})` : ''}`);
}
