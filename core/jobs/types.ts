/**
 * What a job type is, as the functions and the worker both see it: a name, a description
 * and a zod schema for its payload. Handlers live in the worker (worker/src/jobs/<type>.ts).
 */
import type { z } from 'zod';

export interface JobType {
  /** Dotted lowercase name, stored in jobs.type. */
  readonly type: string;
  /** One line for the API docs. */
  readonly description: string;
  /** Validates (and fills defaults of) the payload. */
  readonly payload: z.ZodType;
}
