/**
 * Request and response schemas of the `jobs` function.
 */
import { z } from '@hono/zod-openapi';
import { DIAGNOSTIC_JOBS_SETTING, jobTypeNames } from '../_shared/jobs/catalog.ts';
import { listOf, Timestamp, Uuid } from '../_shared/http/schemas.ts';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).openapi('JobStatus');

export const Job = z
  .object({
    id: Uuid,
    project_id: Uuid,
    created_by: Uuid.nullable(),
    type: z.string(),
    payload: z.record(z.string(), z.unknown()),
    status: JobStatus,
    progress: z.number().int(),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    result: z.unknown().nullable(),
    error: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    cancel_requested_at: Timestamp.nullable(),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    updated_at: Timestamp,
  })
  .openapi('Job');

export const JobList = listOf(Job, 'JobList');

export const SubmitJob = z
  .object({
    project_id: Uuid,
    type: z.string().min(1).max(100).openapi({
      description: `One of: ${jobTypeNames.product.join(', ')}; also ${jobTypeNames.diagnostic.join(', ')} where ${DIAGNOSTIC_JOBS_SETTING}=on`,
      example: 'project.export',
    }),
    payload: z.record(z.string(), z.unknown()).optional().openapi({ description: "The type's payload (at most 64 KiB)", example: { include_jobs: true } }),
  })
  .strict()
  .openapi('SubmitJob');

export const SubmitHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters')
    .optional()
    .openapi({ param: { name: 'idempotency-key', in: 'header' }, description: 'Retries with the same key and body return the first job' }),
});

export const JobIdParam = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' } }) });

export const JobListQuery = z.object({
  project_id: Uuid.optional().openapi({ param: { name: 'project_id', in: 'query' } }),
  status: JobStatus.optional().openapi({ param: { name: 'status', in: 'query' } }),
  cursor: z.string().max(200).optional().openapi({ param: { name: 'cursor', in: 'query' }, description: 'next_cursor of the previous page' }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ param: { name: 'limit', in: 'query' }, type: 'integer' }),
});

export type JobRow = z.infer<typeof Job>;
