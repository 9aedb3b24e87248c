/**
 * `diagnostic.sleep`: waits `ms` milliseconds, reporting progress, and fails its first
 * `fail_times` attempts. For checking the pipeline end to end.
 */
import { z } from 'zod';
import type { JobType } from './types.ts';

export const diagnosticSleep = {
  type: 'diagnostic.sleep',
  description: 'Sleeps for `ms` milliseconds while reporting progress; fails the first `fail_times` attempts.',
  payload: z
    .object({
      ms: z.number().int().min(0).max(600_000).describe('How long to sleep, in milliseconds.'),
      fail_times: z.number().int().min(0).max(25).default(0).describe('How many attempts fail before one succeeds.'),
    })
    .strict(),
} satisfies JobType;
