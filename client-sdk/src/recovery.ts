/**
 * Getting a participant back after its signaling connection dropped. Two ways:
 *  - resume: the node that served the session answers and still keeps the participant → the same
 *    participant, transports and tracks (state 'reconnecting');
 *  - rejoin: that node is gone (unreachable while the entry URL answers), or says the session is gone
 *    (NOT_FOUND), or ended the session because the room moved → a new `join` through the entry URL,
 *    which leads to the node serving the room now (state 'moving').
 * The steps themselves belong to ConsultationClient; this decides which to take and when, so that the
 * decisions can be tested without a browser.
 */
import { ProtocolError, type ErrorCode } from '../../signaling/protocol/types/index.js';
import type { ReconnectPolicy } from './reconnect.js';
import { NodeUnreachableError } from './SignalingConnection.js';

export interface RecoverySteps {
  /** The URL the app gave to `join` (a load balancer or any node). */
  readonly entryUrl: string;
  /** Opens a socket to the node that served the session (following MOVED). */
  reconnect(): Promise<void>;
  /** Opens a socket through the entry URL (following MOVED to the room's node). */
  reconnectViaEntry(): Promise<void>;
  /** Resumes the same participant on the open socket. */
  resume(): Promise<void>;
  /** Joins again on the open socket: new transports, republishing, remote tracks reconciled. */
  rejoin(): Promise<void>;
  /** Fetches a fresh access token for the next connection (absent: an expired token is final). */
  refreshToken?: (() => Promise<void>) | undefined;
  /** Recovery turned into a rejoin (called once). */
  moving(): void;
  /** False once the user left: no further attempt. */
  active(): boolean;
}

export interface RecoveryOptions {
  policy: ReconnectPolicy;
  /** How long the server keeps the participant for a resume. */
  graceMs: number;
  /** The server already ended the session (the room moved): rejoin at once, no resume. */
  sessionGone?: boolean;
}

/**
 * How long a rejoin is tried at least (the policy sees this as its grace period): in a cluster, a dead
 * node's room is taken over once its lease has expired (about 6 s) by the next connection.
 */
export const MOVE_BUDGET_MS = 60_000;

/**
 * Refusals a later attempt may not meet: the node or the cluster directory is down or still
 * settling, a join throttle, a redirect loop during a takeover. Anything else the server says
 * (FORBIDDEN: removed; WRONG_STATE: the consultation ended; …) is final.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'TOO_MANY_REQUESTS', 'MOVED', 'INTERNAL']);

const isCode = (error: unknown, code: ErrorCode): boolean => error instanceof ProtocolError && error.code === code;

/**
 * Tries on the policy's schedule until the participant is back ('resumed' or 'rejoined'), the policy
 * gives up, the server refuses for good (that ProtocolError is returned), or `active()` turns false.
 */
export async function recoverSession(steps: RecoverySteps, options: RecoveryOptions): Promise<'resumed' | 'rejoined' | Error> {
  const lostAt = Date.now();
  let gone = options.sessionGone ?? false;
  let moving = false;
  const move = () => {
    if (moving) return;
    moving = true;
    steps.moving();
  };
  if (gone) move();

  /** A socket to where the room is served now; decides 'moving' when the old node is gone. */
  const connect = async (): Promise<void> => {
    if (moving) return steps.reconnectViaEntry();
    try {
      return await steps.reconnect();
    } catch (error) {
      // The old node does not answer. If it was the entry itself, nothing else can be asked.
      if (!(error instanceof NodeUnreachableError) || error.url === steps.entryUrl) throw error;
    }
    try {
      await steps.reconnectViaEntry();
    } catch (error) {
      // The entry answered (sent us to a dead node, or asked to retry) while the old node does not:
      // that node is gone, the room will be served elsewhere. The entry silent too: our network is.
      if (!(error instanceof NodeUnreachableError && error.url === steps.entryUrl)) move();
      throw error;
    }
  };

  for (let n = 1; steps.active(); n++) {
    const budgetMs = moving ? Math.max(options.graceMs, MOVE_BUDGET_MS) : options.graceMs;
    const delay = options.policy.nextDelayMs(n, Date.now() - lostAt, budgetMs);
    if (delay === null) break;
    await new Promise((r) => setTimeout(r, delay));
    // The user may have left during the wait: no attempt may bring them back.
    if (!steps.active()) break;
    try {
      await connect();
      if (!gone) {
        try {
          await steps.resume();
          return 'resumed';
        } catch (error) {
          if (!isCode(error, 'NOT_FOUND')) throw error;
          gone = true; // this node does not know the session (it restarted, or took the room over)
          move();
        }
      }
      await steps.rejoin();
      return 'rejoined';
    } catch (error) {
      if (!steps.active()) break;
      if (isCode(error, 'UNAUTHENTICATED') && steps.refreshToken) {
        try {
          await steps.refreshToken();
        } catch (refusal) {
          return refusal instanceof Error ? refusal : new Error(String(refusal));
        }
        continue;
      }
      if (error instanceof ProtocolError && !TRANSIENT.has(error.code)) return error;
      // Anything else (a network error, a browser media error mid-rejoin): the next attempt may do.
    }
  }
  return new Error(
    moving
      ? 'the server of this consultation went away and it could not be joined again elsewhere'
      : 'the connection to the media server was lost and could not be restored',
  );
}
