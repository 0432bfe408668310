/**
 * Time-limited TURN credentials in the TURN REST API scheme that coturn implements with
 * `use-auth-secret` / `static-auth-secret`: username = "<expiry unix time>:<user>", password =
 * base64(HMAC-SHA1(secret, username)). No TURN user database, and a leaked credential expires.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../../signaling/protocol/index.js';

export interface TurnSettings {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

export function turnCredentials(settings: TurnSettings | undefined, user: string, now = Date.now()): IceServer[] {
  if (!settings) return [];
  const expiry = Math.floor(now / 1000) + settings.ttlSeconds;
  // ':' separates expiry from user in this scheme, so it must not appear in the user part.
  const username = `${expiry}:${user.replace(/:/g, '_')}`;
  const credential = createHmac('sha1', settings.secret).update(username).digest('base64');
  return [{ urls: settings.urls, username, credential }];
}
