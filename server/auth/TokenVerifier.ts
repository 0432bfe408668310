/**
 * Verifies access tokens issued by the hospital system. Algorithms are pinned by configuration,
 * several keys are accepted so keys can be rotated without downtime, and every token must carry an
 * audience, an expiry and the claims the server relies on.
 */
import jwt from 'jsonwebtoken';
import { AccessClaims, issuesToDetails, ProtocolError, RecordingAccessClaims } from '../../signaling/protocol/index.js';

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

export class TokenVerifier {
  readonly #options: TokenVerifierOptions;

  constructor(options: TokenVerifierOptions) {
    if (options.keys.length === 0) throw new Error('TokenVerifier needs at least one key');
    if (options.algorithms.length === 0) throw new Error('TokenVerifier needs at least one algorithm');
    this.#options = options;
  }

  verify(token: unknown): Principal {
    const { payload } = this.#verifiedPayload(token);
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
    return claims.data;
  }

  /** Verifies a recordings read token (scope `recordings:read`, one case). */
  verifyRecordingAccess(token: unknown): RecordingAccessClaims {
    const claims = RecordingAccessClaims.safeParse(this.#verifiedPayload(token).payload);
    if (!claims.success)
      throw unauthenticated('this token does not grant access to recordings (scope recordings:read and a caseId are required)');
    return claims.data;
  }

  /** Signature, algorithm, audience, issuer, expiry and lifetime: what every kind of token must pass. */
  #verifiedPayload(token: unknown): { payload: jwt.JwtPayload; exp: number } {
    if (typeof token !== 'string' || token.length === 0) throw unauthenticated('an access token is required');
    if (token.length > 8192) throw unauthenticated('access token too large');
    const payload = this.#verifySignature(token);
    if (typeof payload.exp !== 'number') throw unauthenticated('access token has no expiry (exp)');
    // Measured from issue time when the token says it, otherwise from now: either way no longer than allowed.
    const from = typeof payload.iat === 'number' ? payload.iat : Math.floor(Date.now() / 1000);
    if (payload.exp - from > this.#options.maxTtlSeconds) {
      throw unauthenticated(`access token lifetime exceeds ${this.#options.maxTtlSeconds} s`);
    }
    return { payload, exp: payload.exp };
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
          clockTolerance: 5,
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

function describeJwtError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof jwt.TokenExpiredError) return unauthenticated(`access token expired at ${error.expiredAt.toISOString()}`);
  if (error instanceof jwt.NotBeforeError) return unauthenticated('access token not yet valid');
  // jsonwebtoken's text names the expected value ("expected: telemed-sfu"): the refusal names only the claim.
  const wrongClaim = error instanceof jwt.JsonWebTokenError ? /^jwt (audience|issuer) invalid/.exec(error.message)?.[1] : undefined;
  if (wrongClaim) return unauthenticated(`access token rejected: wrong ${wrongClaim}`);
  if (error instanceof jwt.JsonWebTokenError) return unauthenticated(`access token rejected: ${error.message}`);
  return unauthenticated('access token could not be verified');
}
