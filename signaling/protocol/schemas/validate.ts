/** Turns a schema failure into a BAD_REQUEST that names each offending field. */
import type { z } from 'zod';
import { badRequest, ProtocolError } from '../types/errors.js';
import type { RequestName, RequestPayload } from '../types/requests.js';
import { RequestSchemas } from './requests.js';

export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): Record<string, string> {
  const details: Record<string, string> = {};
  for (const issue of issues.slice(0, 20)) {
    const path = issue.path.length ? issue.path.join('.') : '(payload)';
    details[path] ??= issue.message;
  }
  return details;
}

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.hasOwn(RequestSchemas, name);
}

/** No request of ours nests deeper than this (RTP parameters: 5 levels); mediasoup clones what it gets. */
export const MAX_PAYLOAD_DEPTH = 12;
/** Objects and arrays in one payload, all levels together. */
export const MAX_PAYLOAD_NODES = 5000;

/**
 * The outline of a payload before any schema reads it: loose parts (extra RTP fields) may hold
 * anything, and a 3,000-level structure overflows the stack of whoever walks it recursively later
 * (zod, mediasoup's structuredClone). Walked iteratively here, so the check itself cannot overflow.
 */
export function checkOutline(name: string, payload: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value: payload, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_PAYLOAD_DEPTH) throw badRequest(`invalid "${name}" request: nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    if (++nodes > MAX_PAYLOAD_NODES) throw badRequest(`invalid "${name}" request: more than ${MAX_PAYLOAD_NODES} objects and arrays`);
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
}

export function parseRequest<N extends RequestName>(name: N, payload: unknown): RequestPayload<N> {
  checkOutline(name, payload);
  const schema: z.ZodType = RequestSchemas[name];
  const result = schema.safeParse(payload ?? {});
  if (!result.success) {
    const details = issuesToDetails(result.error.issues);
    throw badRequest(
      `invalid "${name}" request: ${Object.entries(details)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
      details,
    );
  }
  return result.data as RequestPayload<N>;
}

export { ProtocolError };
