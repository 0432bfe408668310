/**
 * Error codes that cross the wire. Every failed request is answered with one of these and a message
 * a clinic's IT person (or a clinician) can act on; nothing is ever answered with a bare "error".
 */
export const ERROR_CODES = {
  /** The message failed validation (`details`: field → problem), or the request makes no sense as sent. */
  BAD_REQUEST: 400,
  /** The access token is missing, invalid or expired: get a fresh one from the hospital system. */
  UNAUTHENTICATED: 401,
  /** Your role (or a moderator's decision: removed, muted) does not allow this. */
  FORBIDDEN: 403,
  /** A patient-facing follow-up room needs proof of an earlier in-person visit (no online first visits). */
  PRIOR_VISIT_REQUIRED: 403,
  /** The room, participant, producer or item named does not exist (any more). */
  NOT_FOUND: 404,
  /** Not now: e.g. the consultation was ended, the room is locked, the item is already in that state. */
  WRONG_STATE: 409,
  /** Rate limited: wait a moment and try again. */
  TOO_MANY_REQUESTS: 429,
  /** A server fault; the message says what failed (the server logs the details). */
  INTERNAL: 500,
  /** The server cannot serve this now (draining, overloaded, its media worker or store is down): retry. */
  UNAVAILABLE: 503,
  /**
   * Clustered: this room is served by another node; `details.route` is where to connect instead.
   * The SDK follows it by itself (at most 2 hops).
   */
  MOVED: 307,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface WireError {
  code: ErrorCode;
  status: number;
  message: string;
  /** Field-level detail for validation failures (path → problem). */
  details?: Record<string, string>;
}

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, string>) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, status: this.status, message: this.message };
    if (this.details) wire.details = this.details;
    return wire;
  }

  static fromWire(wire: WireError): ProtocolError {
    return new ProtocolError(wire.code, wire.message, wire.details);
  }
}

export const badRequest = (message: string, details?: Record<string, string>) => new ProtocolError('BAD_REQUEST', message, details);
export const forbidden = (message: string) => new ProtocolError('FORBIDDEN', message);
export const notFound = (message: string) => new ProtocolError('NOT_FOUND', message);
export const wrongState = (message: string) => new ProtocolError('WRONG_STATE', message);

/** The shape of every acknowledgement. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
