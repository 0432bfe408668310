/**
 * The edge link's credentials: a short-lived JWT naming the edge node and the one room, for the
 * audience `<JWT_AUDIENCE>:edge`, signed with a key derived from the cluster's shared HMAC secret
 * (HMAC-SHA256 of a fixed label). A client's access token is for `<JWT_AUDIENCE>`, has a client role
 * and is signed with the secret itself, so neither kind of token passes for the other — not even one
 * the hospital's token issuer (which holds the secret) shaped like a link token.
 */
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { EDGE_LINK_TOKEN_SECONDS, EdgeLinkClaims, ProtocolError } from '../../../signaling/protocol/index.js';

export interface LinkKeys {
  /** The cluster's shared HMAC secrets (the first signs; any verifies: key rotation). */
  secrets: string[];
  algorithm: 'HS256' | 'HS384' | 'HS512';
  /** The clients' audience; links use `<audience>:edge`. */
  audience: string;
  issuer: string | undefined;
}

const linkAudience = (keys: LinkKeys) => `${keys.audience}:edge`;
const linkKey = (secret: string) => createHmac('sha256', secret).update('telemed-sfu edge link v1').digest('hex');

export function signLinkToken(keys: LinkKeys, edgeNodeId: string, room: string): string {
  const claims: EdgeLinkClaims = { sub: edgeNodeId, role: 'edge', room };
  return jwt.sign(claims, linkKey(keys.secrets[0]!), {
    algorithm: keys.algorithm,
    audience: linkAudience(keys),
    expiresIn: EDGE_LINK_TOKEN_SECONDS,
    ...(keys.issuer ? { issuer: keys.issuer } : {}),
  });
}

/** The claims of a valid link token, or UNAUTHENTICATED. */
export function verifyLinkToken(keys: LinkKeys, token: unknown): EdgeLinkClaims {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw unauthenticated();
  for (const secret of keys.secrets) {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, linkKey(secret), {
        algorithms: [keys.algorithm],
        audience: linkAudience(keys),
        ...(keys.issuer ? { issuer: keys.issuer } : {}),
        maxAge: EDGE_LINK_TOKEN_SECONDS + 5,
      });
    } catch {
      continue;
    }
    const claims = EdgeLinkClaims.safeParse(typeof payload === 'string' ? undefined : payload);
    if (claims.success) return claims.data;
  }
  throw unauthenticated();
}

const unauthenticated = () => new ProtocolError('UNAUTHENTICATED', 'edge link token rejected');
