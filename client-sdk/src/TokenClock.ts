/**
 * The access token's lifetime as the SDK sees it. A consultation may outlast its token: the session
 * itself goes on when the token expires, but every reconnect, resume or rejoin after that presents
 * the token again and would be refused. So the SDK warns ahead (`tokenExpiring`), and the app hands it
 * a fresh token (`updateToken`) for whatever reconnects next. The payload is read, not verified: the
 * server verifies; this only needs `exp`, `sub` and `room`.
 */

export interface TokenFacts {
  /** Expiry, seconds since the epoch. */
  exp?: number;
  sub?: string;
  room?: string;
}

/** The claims of a JWT's payload that the SDK uses; empty if the token cannot be read. */
export function readToken(token: string): TokenFacts {
  try {
    const part = token.split('.')[1] ?? '';
    const base64 = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    return {
      ...(typeof payload['exp'] === 'number' ? { exp: payload['exp'] } : {}),
      ...(typeof payload['sub'] === 'string' ? { sub: payload['sub'] } : {}),
      ...(typeof payload['room'] === 'string' ? { room: payload['room'] } : {}),
    };
  } catch {
    return {};
  }
}

/** Calls `onExpiring` `leadMs` before the watched token expires (at once if less is left). */
export class TokenClock {
  readonly #onExpiring: (expiresAt: Date) => void;
  readonly #leadMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(onExpiring: (expiresAt: Date) => void, leadMs = 60_000) {
    this.#onExpiring = onExpiring;
    this.#leadMs = leadMs;
  }

  watch(token: string): void {
    this.stop();
    const { exp } = readToken(token);
    if (exp === undefined) return;
    const expiresAt = new Date(exp * 1000);
    this.#timer = setTimeout(() => this.#onExpiring(expiresAt), Math.max(0, expiresAt.getTime() - this.#leadMs - Date.now()));
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
