/**
 * `GET /jobs`, `GET /jobs/:id`, `POST /jobs/:id/cancel`, `POST /jobs/:id/retry`.
 */
import { createRoute } from '@hono/zod-openapi';
import { withRls, type TransactionSql } from '../../core/db/rls.ts';
import type { FunctionApp } from '../_shared/http/app.ts';
import { ApiError } from '../_shared/http/errors.ts';
import { bearerSecurity, errorResponses, jsonResponse } from '../_shared/http/schemas.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import { Job, JobIdParam, JobList, JobListQuery, type JobRow } from './schemas.ts';
import { isUuid } from '../../core/uuid.ts';

const tags = ['jobs'];

/** A page boundary: the last row's created_at (as Postgres renders it) and id. */
type Cursor = [createdAt: string, id: string];

function encodeCursor(job: JobRow): string {
  return btoa(JSON.stringify([job.created_at, job.id] satisfies Cursor)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * A timestamp as Postgres renders one in JSON (`2026-11-25T17:03:37.123456+00:00`), with
 * every field in range — a date JavaScript accepts but Postgres refuses (year 275760, day
 * 31 of February) must be a 400, not a failed query.
 */
const POSTGRES_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)$/;

function isPostgresTimestamp(value: string): boolean {
  const match = POSTGRES_TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours = 0, offsetMinutes = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    year! >= 1 && month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth &&
    hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours <= 15 && offsetMinutes <= 59
  );
}

function decodeCursor(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      isPostgresTimestamp(value[0]) &&
      isUuid(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw new ApiError('invalid_request', 'invalid cursor', { cursor: 'not a next_cursor this API returned' });
}

async function readJob(tx: TransactionSql, id: string): Promise<JobRow | undefined> {
  const [row] = await tx<{ job: JobRow }[]>`select to_jsonb(j) as job from public.jobs j where j.id = ${id}`;
  return row?.job;
}

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags,
  summary: 'Jobs the caller can see, newest first (keyset pagination)',
  security: bearerSecurity,
  request: { query: JobListQuery },
  responses: { 200: jsonResponse(JobList, 'A page of jobs'), ...errorResponses(404) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  summary: 'One job',
  security: bearerSecurity,
  request: { params: JobIdParam },
  responses: { 200: jsonResponse(Job, 'The job'), ...errorResponses(404) },
});

const actionRoute = (action: 'cancel' | 'retry', summary: string) =>
  createRoute({
    method: 'post',
    path: `/{id}/${action}`,
    tags,
    summary,
    security: bearerSecurity,
    request: { params: JobIdParam },
    responses: { 200: jsonResponse(Job, 'The job after the request'), ...errorResponses(403, 404, 409) },
  });

/**
 * Registers the read, cancel and retry routes (after the static ones).
 *
 * @example
 * registerJobRoutes(app, deps);
 */
export function registerJobRoutes(app: FunctionApp, deps: FunctionDeps): void {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await withRls(
      await deps.db(),
      c.get('user').claims,
      async (tx) => {
        const rows = await tx<{ job: JobRow }[]>`
          select to_jsonb(j) as job
          from public.jobs j
          where true
            ${query.project_id ? tx`and j.project_id = ${query.project_id}` : tx``}
            ${query.status ? tx`and j.status = ${query.status}` : tx``}
            ${after ? tx`and (j.created_at, j.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : tx``}
          order by j.created_at desc, j.id desc
          limit ${query.limit + 1}`;
        if (rows.length === 0 && query.project_id) {
          const [visible] = await tx`select 1 from public.projects where id = ${query.project_id}`;
          if (!visible) throw new ApiError('not_found', 'project not found');
        }
        return rows.map((row) => row.job);
      },
      { readOnly: true },
    );
    const data = page.slice(0, query.limit);
    const next = page.length > query.limit ? encodeCursor(data[data.length - 1]!) : null;
    return c.json({ data, next_cursor: next }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const job = await withRls(await deps.db(), c.get('user').claims, (tx) => readJob(tx, id), { readOnly: true });
    if (!job) throw new ApiError('not_found', 'job not found');
    return c.json(job, 200);
  });

  app.openapi(actionRoute('cancel', 'Cancel a queued job or ask the worker to abort a running one (own jobs; owners: any)'), async (c) => {
    const { id } = c.req.valid('param');
    const job = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      await tx`select public.cancel_job(${id})`;
      return readJob(tx, id);
    });
    return c.json(job!, 200);
  });

  app.openapi(actionRoute('retry', 'Queue a failed or cancelled job again as a new run (own jobs; owners: any)'), async (c) => {
    const { id } = c.req.valid('param');
    const job = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      await tx`select public.retry_job(${id})`;
      return readJob(tx, id);
    });
    // retry_job NOTIFYs tandem_jobs; the worker's dispatcher enqueues the new run.
    return c.json(job!, 200);
  });
}
