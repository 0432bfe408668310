/**
 * Verifies access tokens issued by the hospital system. Algorithms are pinned by configuration,
 * several keys are accepted so keys can be rotated without downtime, and every token must carry an
 * audience, an expiry and the claims the server relies on.
 */
import jwt from 'jsonwebtoken';
import { AccessClaims, AdminClaims, issuesToDetails, ProtocolError, RecordingAccessClaims } from '../../signaling/protocol/index.js';

export interface TokenVerifierOptions {
  algorithms: jwt.Algorithm[];
  /** Shared secrets (HS256...) and/or PEM public keys (RS256, ES256, PS256...), tried in order. */
  keys: (string | Buffer)[];
  audience: string;
  issuer?: string | undefined;
  /** Tokens valid for longer than this are refused: a leaked token must not live for months. */
  maxTtlSeconds: number;
}

export type Principal = AccessClaims;

const unauthenticated = (message: string) => new ProtocolError('UNAUTHENTICATED', message);

/** How far past `exp` (or before `nbf`) a token is still taken: clocks a few seconds apart. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** How far the issuer's clock may be ahead of ours: an `iat` further in the future is refused. */
export const CLOCK_SKEW_SECONDS = 60;

export class TokenVerifier {
  readonly #options: TokenVerifierOptions;

  constructor(options: TokenVerifierOptions) {
    if (options.keys.length === 0) throw new Error('TokenVerifier needs at least one key');
    if (options.algorithms.length === 0) throw new Error('TokenVerifier needs at least one algorithm');
    this.#options = options;
  }

  verify(token: unknown): Principal {
    return this.verifyAccess(token).principal;
  }

  /**
   * verify(), and when the token expires (ms since the epoch, with the same tolerance as the check
   * here): a connection opened with it may enter a room only until then (Session.requireLiveToken).
   */
  verifyAccess(token: unknown): { principal: Principal; expiresAtMs: number } {
    const { payload, exp } = this.#verifiedPayload(token);
    const claims = AccessClaims.safeParse(payload);
    if (!claims.success) {
      const details = issuesToDetails(claims.error.issues);
      throw new ProtocolError(
        'UNAUTHENTICATED',
        `access token claims invalid: ${Object.entries(details)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
        details,
      );
    }
    return { principal: claims.data, expiresAtMs: (exp + CLOCK_TOLERANCE_SECONDS) * 1000 };
  }

  /** Verifies a recordings read token (scope `recordings:read`, one case). */
  verifyRecordingAccess(token: unknown): RecordingAccessClaims {
    const claims = RecordingAccessClaims.safeParse(this.#verifiedPayload(token).payload);
    if (!claims.success)
      throw unauthenticated('this token does not grant access to recordings (scope recordings:read and a caseId are required)');
    return claims.data;
  }

  /** Verifies an operator's token for the admin API (scope `admin`). */
  verifyAdmin(token: unknown): AdminClaims {
    const claims = AdminClaims.safeParse(this.#verifiedPayload(token).payload);
    if (!claims.success) throw unauthenticated('this token does not grant access to the admin API (scope admin is required)');
    return claims.data;
  }

  /** Signature, algorithm, audience, issuer, expiry and lifetime: what every kind of token must pass. */
  #verifiedPayload(token: unknown): { payload: jwt.JwtPayload; exp: number } {
    if (typeof token !== 'string' || token.length === 0) throw unauthenticated('an access token is required');
    if (token.length > 8192) throw unauthenticated('access token too large');
    const payload = this.#verifySignature(token);
    if (typeof payload.exp !== 'number') throw unauthenticated('access token has no expiry (exp)');
    this.#checkLifetime(payload.exp, payload.iat);
    return { payload, exp: payload.exp };
  }

  /**
   * A leaked token must not live for months, whatever its issue time says: what is left of it
   * (exp − now) is bounded on its own, so an `iat` set in the future (or written in milliseconds)
   * cannot stretch it. An `iat` is optional but, when present, must be a time in seconds that has
   * come (within the clock skew), and exp − iat is bounded too.
   */
  #checkLifetime(exp: number, iat: unknown): void {
    const { maxTtlSeconds } = this.#options;
    const now = Math.floor(Date.now() / 1000);
    if (exp - now > maxTtlSeconds + CLOCK_SKEW_SECONDS) {
      throw unauthenticated(`access token lifetime exceeds ${maxTtlSeconds} s (it expires ${exp - now} s from now)`);
    }
    if (iat === undefined) return;
    if (typeof iat !== 'number' || !Number.isFinite(iat))
      throw unauthenticated('access token issue time (iat) must be a number of seconds');
    if (iat > now + CLOCK_SKEW_SECONDS) {
      throw unauthenticated(
        `access token issue time (iat) is ${iat - now} s in the future ` +
          `(at most ${CLOCK_SKEW_SECONDS} s of clock skew; iat is in seconds, not milliseconds)`,
      );
    }
    if (exp - iat > maxTtlSeconds) throw unauthenticated(`access token lifetime exceeds ${maxTtlSeconds} s (issued for ${exp - iat} s)`);
  }

  #verifySignature(token: string): jwt.JwtPayload {
    const { algorithms, audience, issuer } = this.#options;
    let lastError: unknown = new jwt.JsonWebTokenError("no configured key fits this token's algorithm");
    for (const key of this.#keysFor(token)) {
      try {
        const payload = jwt.verify(token, key, {
          algorithms,
          audience,
          ...(issuer ? { issuer } : {}),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        if (typeof payload === 'string') throw unauthenticated('access token payload must be a JSON object');
        return payload;
      } catch (error) {
        lastError = error;
        // Only a bad signature is worth trying the next key for; expiry or audience will not change.
        if (!(error instanceof jwt.JsonWebTokenError) || error.message !== 'invalid signature') break;
      }
    }
    throw describeJwtError(lastError);
  }

  /** HMAC tokens are checked against secrets only, signature tokens against PEM public keys only. */
  #keysFor(token: string): (string | Buffer)[] {
    const alg = (jwt.decode(token, { complete: true })?.header.alg ?? '').toUpperCase();
    const isPem = (k: string | Buffer) => k.toString().trimStart().startsWith('-----BEGIN');
    return this.#options.keys.filter((k) => (alg.startsWith('HS') ? !isPem(k) : isPem(k)));
  }
}

/**
 * A refusal the client can act on, without telling a stranger what we expect: jsonwebtoken's
 * messages end with "expected: <our audience or issuer>", which is not theirs to learn.
 */
function describeJwtError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof jwt.TokenExpiredError) return unauthenticated(`access token expired at ${error.expiredAt.toISOString()}`);
  if (error instanceof jwt.NotBeforeError) return unauthenticated('access token not yet valid');
  if (error instanceof jwt.JsonWebTokenError) {
    if (error.message.startsWith('jwt audience invalid'))
      return unauthenticated('access token rejected: it is not meant for this service (audience)');
    if (error.message.startsWith('jwt issuer invalid'))
      return unauthenticated('access token rejected: it is not from an accepted issuer (iss)');
    return unauthenticated(`access token rejected: ${error.message.replace(/[.\s]*expected:.*$/s, '')}`);
  }
  return unauthenticated('access token could not be verified');
}
