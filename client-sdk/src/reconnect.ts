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
