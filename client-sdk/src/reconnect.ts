import { ProtocolError } from '../../signaling/protocol/types/index.js';

/** When to retry after the signaling connection drops. Pluggable: a clinic may prefer its own. */
export interface ReconnectPolicy {
  /**
   * Milliseconds to wait before attempt `attempt` (1-based), or null to give up. `elapsedMs` is the
   * time since the connection was lost; `graceMs` how long the server keeps the participant.
   */
  nextDelayMs(attempt: number, elapsedMs: number, graceMs: number): number | null;
}

/** Quick first retries, then exponential backoff with jitter, until the server's grace period ends. */
export const defaultReconnectPolicy: ReconnectPolicy = {
  nextDelayMs(attempt, elapsedMs, graceMs) {
    if (elapsedMs >= graceMs) return null;
    const base = Math.min(5000, 250 * 2 ** (attempt - 1));
    return Math.min(base * (0.8 + Math.random() * 0.4), Math.max(0, graceMs - elapsedMs));
  },
};

/**
 * `reconnecting`: the connection dropped; the SDK resumes the same participant on the same server.
 * `moving`: that server went away (or the session is gone there, or the room moved): the SDK joins the
 * room again through the entry URL — in a cluster, on the server that serves it now — and republishes.
 */
export type ConnectionState = 'connected' | 'reconnecting' | 'moving' | 'disconnected';

/**
 * Calls `attempt` on the policy's schedule until it succeeds ('resumed'), the policy gives up, the
 * server refuses (any error but UNAVAILABLE: grace over, removed, token expired), or `active()`
 * turns false. Returns why it stopped otherwise.
 */
export async function retryUntilResumed(
  policy: ReconnectPolicy,
  graceMs: number,
  active: () => boolean,
  attempt: () => Promise<void>,
): Promise<'resumed' | Error> {
  const lostAt = Date.now();
  for (let n = 1; active(); n++) {
    const delay = policy.nextDelayMs(n, Date.now() - lostAt, graceMs);
    if (delay === null) break;
    await new Promise((r) => setTimeout(r, delay));
    // The user may have left during the wait: no attempt may bring them back.
    if (!active()) break;
    try {
      await attempt();
      return 'resumed';
    } catch (error) {
      if (error instanceof ProtocolError && error.code !== 'UNAVAILABLE') return error;
    }
  }
  return new Error('the connection to the media server was lost and could not be restored');
}
