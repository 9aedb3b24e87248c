/**
 * A `jobs` row, described once: the zod schema that the `jobs` function answers with and
 * documents, whose inferred type the worker reads rows as. tests/core/row-types.test.ts
 * proves the type equals the generated `Database` row (client/database.types.ts), and that
 * `job_updated` below equals the client's event type and the payload the trigger in
 * supabase/migrations/20261202000300_realtime_server_events.sql sends.
 */
import { z } from 'zod';
import { Json, Timestamp, Uuid } from '../schemas.ts';

/** The enum `public.job_status`. */
export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof JobStatus>;

/** The states a job never leaves (but by retry_job, which starts a new run). */
export const finalStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** A row of `public.jobs`, as `to_jsonb` and postgres.js render it. (The `id`s of the metadata name the schemas in the functions' OpenAPI document.) */
export const JobRow = z.object({
  id: Uuid,
  project_id: Uuid,
  created_by: Uuid.nullable(),
  type: z.string(),
  payload: Json,
  status: JobStatus,
  progress: z.number().int(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  result: Json.nullable(),
  error: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  cancel_requested_at: Timestamp.nullable(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  updated_at: Timestamp,
}).meta({ id: 'Job' });
export type JobRow = z.infer<typeof JobRow>;

/**
 * The payload of a `job_updated` event on `project:<id>:events`: ids, status and
 * progress only (error and result stay behind RLS; read the job for them).
 */
export const JobUpdated = JobRow.pick({ id: true, project_id: true, type: true, status: true, progress: true, attempts: true, updated_at: true }).strict();
export type JobUpdated = z.infer<typeof JobUpdated>;
