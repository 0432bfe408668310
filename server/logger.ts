/** Structured JSON logs (pino). Child loggers carry room / participant ids so a case can be traced. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'telemed-sfu' }, timestamp: pino.stdTimeFunctions.isoTime });
}
