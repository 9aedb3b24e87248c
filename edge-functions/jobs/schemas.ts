/**
 * Request and response schemas of the `jobs` function.
 */
import { z } from '@hono/zod-openapi';
import { DIAGNOSTIC_JOBS_SETTING, jobPayloadJsonSchemas, jobTypeNames, type JobCatalog } from '../../core/jobs/catalog.ts';
import { JobRow, JobStatus } from '../../core/jobs/row.ts';
import { Uuid } from '../../core/schemas.ts';
import { listOf } from '../_shared/http/schemas.ts';

/** The row schemas are core's (core/jobs/row.ts): the worker reads rows as the same type. */
export { JobRow as Job, JobStatus };
export type { JobRow };

export const JobList = listOf(JobRow, 'JobList');

/**
 * The body of `POST /jobs` in a catalog: it validates the envelope (the catalog checks the
 * payload against its type, with its own errors: submit.ts), and documents each type's
 * payload as one `oneOf` branch per type, so the OpenAPI document lists exactly the types
 * this function accepts, each with its payload schema (core/jobs/catalog.ts).
 *
 * @example
 * const SubmitJob = submitJobSchema(createJobCatalog({ diagnostics: false }));
 */
export function submitJobSchema(catalog: JobCatalog) {
  const payloads = jobPayloadJsonSchemas(catalog);
  const off = catalog.diagnostics ? '' : `; the diagnostic types (${jobTypeNames.diagnostic.join(', ')}) need ${DIAGNOSTIC_JOBS_SETTING}=on`;
  return z
    .object({
      project_id: Uuid,
      type: z.string().min(1).max(100).openapi({
        description: `One of: ${catalog.known.join(', ')}${off}`,
        example: 'project.export',
      }),
      payload: z.record(z.string(), z.unknown()).optional().openapi({ description: "The type's payload (at most 64 KiB)", example: { include_jobs: true } }),
    })
    .strict()
    .openapi('SubmitJob', {
      oneOf: Object.entries(payloads).map(([type, { description, payload }]) => ({
        title: type,
        description,
        type: 'object' as const,
        properties: { type: { const: type }, payload },
        required: ['type'],
      })),
    });
}

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

