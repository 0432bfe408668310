/** How the operators' API answers a refusal or a fault: the protocol's error codes, as JSON. */
import type express from 'express';
import { ProtocolError } from '../../signaling/protocol/index.js';

/** Answers `error` with its code and status; anything that is not a ProtocolError is an INTERNAL fault. */
export function sendAdminError(res: express.Response, error: unknown): void {
  const wire = error instanceof ProtocolError ? error : new ProtocolError('INTERNAL', 'the request could not be carried out');
  res.status(wire.status).json({ error: wire.toWire() });
}

/** The operator's token subject, set by adminRouter's authentication: who asked, for logs and trails. */
export const operatorOf = (res: express.Response): string => String(res.locals['admin']);
