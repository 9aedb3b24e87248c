/**
 * `project.export`: a JSON export of the project, its members and a summary of its jobs,
 * stored as the job's result.
 */
import { z } from 'zod';
import type { JobType } from './types.ts';

export const projectExport = {
  type: 'project.export',
  description: 'Exports the project, its members and a summary of its jobs as JSON (the job result).',
  payload: z
    .object({
      include_jobs: z.boolean().default(true).describe('Include the jobs summary.'),
    })
    .strict(),
} satisfies JobType;
