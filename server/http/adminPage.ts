/**
 * The operators' dashboard page, `GET /admin` exactly: served without a token (it holds no data; it
 * asks the operator for an admin token and calls the admin API with it), its scripts and styles from
 * `/admin.js`, `/admin.css`… (the public folder, outside `/admin/`, which needs a token). A strict CSP:
 * only this origin's scripts, styles and API, and no framing (an operator's clicks cannot be hijacked).
 */
import type express from 'express';

export const ADMIN_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function adminPage(file: string): express.RequestHandler {
  return (_req, res) => {
    res.setHeader('Content-Security-Policy', ADMIN_PAGE_CSP);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.sendFile(file);
  };
}
