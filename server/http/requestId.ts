/**
 * Every HTTP request gets a request id: the caller's `X-Request-Id` when it sent a usable one (a
 * proxy's or the hospital system's, so one id follows the request across systems), a new one
 * otherwise. It is answered in the `X-Request-Id` header and carried by every log line written while
 * the request is handled (see requestContext.ts).
 */
import type express from 'express';
import { acceptRequestId, enterRequest } from '../requestContext.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

export function requestIds(): express.RequestHandler {
  return (req, res, next) => {
    const requestId = acceptRequestId(req.get(REQUEST_ID_HEADER));
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.locals['requestId'] = requestId;
    // 'finish' and 'close' come after this returns (the response is written asynchronously).
    const end = enterRequest({ requestId }, next);
    res.once('finish', end);
    res.once('close', end);
  };
}
