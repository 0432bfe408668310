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

export function parseRequest<N extends RequestName>(name: N, payload: unknown): RequestPayload<N> {
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
