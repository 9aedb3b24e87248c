/**
 * `POST /jobs` (docs/functions.md): validate against the catalog → insert under
 * the caller's RLS (only collaborators and owners pass the policy) with the
 * Idempotency-Key → commit → enqueue with jobId = row id → 202. Redis being down does not
 * fail the submission: the row is the truth, and the worker's dispatcher (NOTIFYed as a
 * fallback) or its sweeper enqueues it later.
 */
import { createRoute } from '@hono/zod-openapi';
import { createJobCatalog, validateJobPayload } from '../../core/jobs/catalog.ts';
import { withRls } from '../../core/db/rls.ts';
import type { FunctionApp } from '../_shared/http/app.ts';
import { ApiError } from '../_shared/http/errors.ts';
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from '../_shared/http/schemas.ts';
import { enqueueNewJob, openJobQueue, type JobQueue } from '../../core/queue.ts';
import { useRedis } from '../_shared/redis.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import { Job, SubmitHeaders, submitJobSchema, type JobRow } from './schemas.ts';

/** Job payloads larger than this (as JSON) are refused with 413. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

function isRlsRefusal(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '42501';
}

/**
 * Registers `POST /jobs`.
 *
 * @example
 * registerSubmitRoute(app, deps);
 */
export function registerSubmitRoute(app: FunctionApp, deps: FunctionDeps): void {
  const catalog = createJobCatalog({ diagnostics: deps.config.diagnosticJobs });
  const submitRoute = createRoute({
    method: 'post',
    path: '/',
    tags: ['jobs'],
    summary: 'Submit a job (collaborators and owners); 202 with the job and its Location',
    security: bearerSecurity,
    request: { headers: SubmitHeaders, body: jsonBody(submitJobSchema(catalog), 'The job') },
    responses: {
      202: jsonResponse(Job, 'Accepted and queued'),
      200: jsonResponse(Job, 'The job first submitted with this Idempotency-Key and body'),
      ...errorResponses(403, 404, 409, 413, 415, 422),
    },
  });
  let queue: Promise<JobQueue> | undefined;
  const enqueue = async (job: JobRow) => {
    try {
      await useRedis(
        deps.redis,
        async (redis) => {
          // bullmq is loaded on the first submission only, keeping cold starts small.
          queue ??= openJobQueue(redis, { keys: deps.config.redisKeys, onError: (error) => deps.repeats.warn('queue_error', { error: error.message }) });
          await enqueueNewJob(await queue, job);
        },
        { timeoutMs: 2_000, use: 'job_queue' },
      );
      deps.repeats.resolved('enqueue_deferred');
    } catch (error) {
      deps.repeats.warn('enqueue_deferred', { job_id: job.id, reason: (error as Error).message });
      // The insert skipped the worker's NOTIFY because this function enqueues its own rows;
      // since it could not, hand the row to the worker's dispatcher after all (and should
      // that fail too, the sweeper finds the row).
      const sql = await deps.db();
      await sql`select pg_notify('tandem_jobs', ${JSON.stringify({ op: 'insert', id: job.id })})`.catch(() => undefined);
    }
  };

  app.openapi(submitRoute, async (c) => {
    const input = c.req.valid('json');
    const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;
    const rawPayload = input.payload ?? {};
    const payloadBytes = new TextEncoder().encode(JSON.stringify(rawPayload)).byteLength;
    if (payloadBytes > MAX_PAYLOAD_BYTES) {
      throw new ApiError('payload_too_large', `the job payload is ${payloadBytes} bytes; at most ${MAX_PAYLOAD_BYTES} are allowed`);
    }
    const checked = validateJobPayload(catalog, input.type, rawPayload);
    if (!checked.ok) {
      const details =
        checked.reason === 'unknown_type'
          ? { known_types: checked.known }
          : { issues: checked.issues.slice(0, 20).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })) };
      throw new ApiError('invalid_request', checked.message, details);
    }
    const user = c.get('user');
    const db = await deps.db();
    // One statement, sent together with the RLS settings: insert, or find the job this
    // caller already submitted with the same Idempotency-Key. The function enqueues the
    // row itself after the commit, so the insert need not NOTIFY the worker.
    const submit = () =>
      withRls(
        db,
        user.claims,
        (tx) => tx<{ job: JobRow; created: boolean; same: boolean }[]>`
          with inserted as (
            insert into public.jobs as j (project_id, type, payload, idempotency_key)
            values (${input.project_id}, ${input.type}, ${tx.json(checked.payload as never)}, ${idempotencyKey})
            on conflict on constraint jobs_idempotency_key_unique do nothing
            returning j.*
          )
          select to_jsonb(i) as job, true as created, true as same from inserted i
          union all
          select to_jsonb(j), false, (j.type = ${input.type} and j.payload = ${tx.json(checked.payload as never)}::jsonb)
          from public.jobs j
          where not exists (select 1 from inserted) and j.project_id = ${input.project_id}
            and j.created_by = (select auth.uid()) and j.idempotency_key = ${idempotencyKey}`,
        { settings: { 'tandem.job_enqueued_by_caller': 'on' } },
      );
    let outcome: { job: JobRow; created: boolean };
    try {
      // A first submission with the same key still in flight when this statement began is
      // waited for but not seen by it: one more statement sees it.
      let [row] = await submit();
      if (!row) [row] = await submit();
      if (!row) throw new ApiError('conflict', 'a job with this Idempotency-Key exists but is not visible; try again');
      if (!row.same) {
        throw new ApiError('idempotency_conflict', 'this Idempotency-Key was already used with a different body', { job_id: row.job.id });
      }
      outcome = { job: row.job, created: row.created };
    } catch (error) {
      if (!isRlsRefusal(error)) throw error;
      // The policy refused the insert: a project the caller sees (a viewer's) is 403, any other 404.
      const visible = await withRls(await deps.db(), user.claims, (tx) => tx`select 1 from public.projects where id = ${input.project_id}`, {
        readOnly: true,
      });
      if (visible.length > 0) throw new ApiError('forbidden', 'only collaborators and owners can submit jobs in this project');
      throw new ApiError('not_found', 'project not found');
    }
    const headers = { Location: `/functions/v1/jobs/${outcome.job.id}` };
    if (!outcome.created) return c.json(outcome.job, 200, headers);
    await enqueue(outcome.job);
    return c.json(outcome.job, 202, headers);
  });
}
