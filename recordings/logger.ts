/**
 * The logging this library needs, and no more: structured (fields, message) calls and child loggers
 * that carry extra fields. The server's pino Logger satisfies it structurally, so recordings/ does not
 * depend on server/ (or on pino) to be told where to log.
 */
export interface RecordingsLogger {
  /** A logger that adds these fields to every line it writes. */
  child(bindings: Record<string, unknown>): RecordingsLogger;
  error(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  debug(fields: object, msg?: string): void;
}
