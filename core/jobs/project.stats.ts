/**
 * `project.stats`: counts of the project's members by role and jobs by status.
 */
import { z } from 'zod';
import type { JobType } from './types.ts';

export const projectStats = {
  type: 'project.stats',
  description: "Counts the project's members by role and its jobs by status (the job result).",
  payload: z.object({}).strict(),
} satisfies JobType;
