/**
 * Helpers for the worker's tests: a fast test configuration with its own BullMQ prefix,
 * projects and jobs created by SQL, and polling.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createLogger } from '../../core/log.ts';
import type { WorkerConfig } from '../../worker/src/config.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { privateDatabase } from '../harness/database.ts';
import type { JobRow } from '../../core/jobs/row.ts';
import postgres from 'postgres';
import { createUser, type Sql, type TestUser } from '../harness/db.ts';
import { runRedisUrl } from '../harness/redis.ts';

/** A superuser connection to a (private) test database. */
export function connect(url: string, max = 4): Sql {
  return postgres(url, { max, onnotice: () => undefined });
}


/**
 * A configuration for an in-process worker on `databaseUrl` (a private database, see
 * database.ts): short delays, its own Redis key prefix, a free port.
 */
export function testConfig(databaseUrl: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  const suffix = randomUUID().slice(0, 8);
  return {
    databaseUrl,
    // Its own prefix keeps its queue and cache epoch apart from every other suite's.
    redisUrl: runRedisUrl(13),
    port: 0,
    metricsHost: '127.0.0.1',
    name: `tw-${suffix}`,
    redisPrefix: `{test-${suffix}}`,
    concurrency: 5,
    dbPoolSize: 5,
    sweepIntervalMs: 60_000,
    retentionSeconds: 7 * 86_400,
    deadLetterSeconds: 7 * 86_400,
    keepCompleted: 1000,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
    progressIntervalMs: 20,
    writeBatchMs: 0,
    shutdownTimeoutMs: 10_000,
    lockDurationMs: 5000,
    stalledIntervalMs: 1000,
    listenCheckMs: 500,
    logLevel: 'warn',
    // The tests run diagnostic.sleep jobs (on in tests, as in the devstack).
    diagnosticJobs: true,
    ...overrides,
  };
}

/** A logger that stays quiet unless something is wrong. */
export const quietLog = createLogger({ service: 'worker-test' }, { level: 'error' });

/** A user who owns a fresh project. */
export async function createProject(sql: Sql): Promise<{ owner: TestUser; projectId: string }> {
  const owner = await createUser(sql);
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values (${'worker test ' + owner.id.slice(0, 8)}, ${owner.id}) returning id`;
  return { owner, projectId: project!.id };
}

/** Inserts a job row by plain SQL (as any path would) and returns its id. */
export async function insertJob(
  sql: Sql,
  projectId: string,
  type: string,
  payload: Record<string, unknown>,
  options: { maxAttempts?: number; createdBy?: string } = {},
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.jobs (project_id, type, payload, max_attempts, created_by)
    values (${projectId}, ${type}, ${sql.json(payload as never)}, ${options.maxAttempts ?? 3}, ${options.createdBy ?? null})
    returning id`;
  return row!.id;
}

/** The current row of a job. */
export async function readJob(sql: Sql, id: string): Promise<JobRow> {
  const [row] = await sql<JobRow[]>`select * from public.jobs where id = ${id}`;
  if (!row) throw new Error(`job ${id} not found`);
  return row;
}

/** Polls `probe` until it returns a truthy value (returned), or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the job's status is one of `statuses`; returns the row. */
export function waitForStatus(sql: Sql, id: string, statuses: string[], timeoutMs?: number): Promise<JobRow> {
  return waitFor(async () => {
    const row = await readJob(sql, id);
    return statuses.includes(row.status) ? row : undefined;
  }, `job ${id} to be ${statuses.join('|')}`, timeoutMs);
}

/** The job_updated events of a job in realtime.messages, oldest first. */
export async function jobEvents(sql: Sql, id: string): Promise<{ status: string; progress: number; attempts: number; error: string | null }[]> {
  const rows = await sql<{ payload: { status: string; progress: number; attempts: number; error: string | null } }[]>`
    select payload from realtime.messages
    where event = 'job_updated' and payload->>'id' = ${id}
    order by inserted_at, (payload->>'updated_at')`;
  return rows.map((row) => row.payload);
}

/**
 * A private database (see database.ts) and a superuser connection to it for one test
 * file: created before the file's tests, closed and dropped after them.
 *
 * @example
 * const db = usePrivateDatabase();
 * it('…', async () => { await db.sql`select 1`; testConfig(db.url); });
 */
export function usePrivateDatabase(): { readonly url: string; readonly sql: Sql } {
  let db: Awaited<ReturnType<typeof privateDatabase>> | undefined;
  let sql: Sql | undefined;
  beforeAll(async () => {
    db = await privateDatabase();
    sql = connect(db.url);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });
  return {
    get url() {
      return db!.url;
    },
    get sql() {
      return sql as Sql;
    },
  };
}

/**
 * A private database and an in-process worker on it for one test file: created before
 * the file's tests, stopped and dropped after them.
 *
 * @example
 * const fixture = useWorkerFixture({ backoffBaseMs: 300 });
 * it('…', async () => { await fixture.sql`select 1`; fixture.worker.queue; });
 */
export function useWorkerFixture(overrides: Partial<WorkerConfig> = {}): { readonly sql: Sql; readonly worker: RunningWorker } {
  const db = usePrivateDatabase();
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    worker = await startWorker(testConfig(db.url, overrides), { log: quietLog });
  });
  // Registered after the database's hook, so it runs before it (vitest runs afterAll hooks as a stack).
  afterAll(async () => {
    await worker?.stop();
  });
  return {
    get sql() {
      return db.sql;
    },
    get worker() {
      return worker as RunningWorker;
    },
  };
}
