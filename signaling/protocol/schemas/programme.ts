/**
 * Validator of a programme's details as moderators send them (server only); the type is in
 * ../types/programme.ts and the validator is checked at compile time to match it.
 */
import { z } from 'zod';
import * as T from '../types/programme.js';
import type { Assert, Matches } from './check.js';

export const ProgrammeDetails = z.strictObject({
  title: z.string().trim().min(1).max(120),
  description: z.string().max(2000),
  // An offset is required: a time without one means something else on a phone in another zone.
  scheduledStart: z.iso.datetime({ offset: true }),
  presenterName: z.string().trim().min(1).max(100),
  hospital: z.string().trim().min(1).max(200),
  visibility: z.enum(T.PROGRAMME_VISIBILITIES),
  replay: z.strictObject({
    allowed: z.boolean(),
    // A replay is kept for at least a day and at most ten years.
    retentionDays: z.number().int().min(1).max(3650),
  }),
});
export type ProgrammeDetails = T.ProgrammeDetails;

type _Checks = [Assert<Matches<typeof ProgrammeDetails, T.ProgrammeDetails>>];
