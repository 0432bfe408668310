/**
 * Structured JSON logs (pino). Child loggers carry room / participant ids so a case can be traced;
 * every line written while a signaling or HTTP request is handled carries its request id (`reqId`,
 * see requestContext.ts). People are named by pseudonym (pseudonym.ts), never by display name.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { requestLogFields } from './requestContext.js';

export type { Logger };

/** `destination`: where lines go (stdout by default; tests pass a stream they read). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'telemed-sfu' }, timestamp: pino.stdTimeFunctions.isoTime, mixin: requestLogFields };
  return destination ? pino(options, destination) : pino(options);
}
