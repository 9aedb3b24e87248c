/**
 * A private Tandem for fault-injection tests: its own PostgreSQL cluster and Redis — a
 * redis-server, or a 3-node Redis Cluster (devstack/redis/cluster.ts) — so they can be
 * restarted, the functions served by Deno (one instance or several), and the worker either
 * in-process or as child processes (so they can be SIGKILLed).
 */
import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { setupDatabase, withUser } from '../../devstack/db/setup.ts';
import { startFunctions, type RunningFunctions } from '../../devstack/functions/serve.ts';
import { findFreePort } from '../../devstack/net/ports.ts';
import { startCluster, type Cluster } from '../../devstack/postgres/cluster.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { startRedisCluster, type RedisCluster } from '../../devstack/redis/cluster.ts';
import { loadConfig } from '../../worker/src/config.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { createUser, type Sql, type TestUser } from '../harness/db.ts';
import { functionEnv } from '../harness/function-env.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';
import { tokenFor } from '../functions/helpers.ts';

export const JWT_SECRET = 'tandem-resilience-secret-at-least-32-characters';

export interface ResilienceStack {
  cluster: Cluster;
  /** The redis-server (undefined with `redis: 'cluster'`). */
  redis: RedisServer;
  /** The Redis Cluster, with `redis: 'cluster'`. */
  redisCluster: RedisCluster | undefined;
  redisUrl: string;
  /** The first function instance. */
  functions: RunningFunctions;
  /** Every function instance (`functionInstances`, default 1), each its own Deno processes. */
  functionInstances: RunningFunctions[];
  /** Superuser connection (re-connects after a Postgres restart). */
  sql: Sql;
  owner: TestUser;
  ownerToken: string;
  projectId: string;
  /** Environment a worker process needs. */
  workerEnv: NodeJS.ProcessEnv;
  /** The in-process worker, with `{ worker: 'in-process' }`. */
  worker: RunningWorker | undefined;
  /** Starts `worker/src/main.ts` as a child process (`env` adds to workerEnv, e.g. another PORT). */
  spawnWorker(env?: NodeJS.ProcessEnv): ChildProcess;
  stop(): Promise<void>;
}

/** Fast worker settings for fault tests: short sweeps, locks and backoff. */
const FAST_WORKER = {
  TANDEM_WORKER_SWEEP_INTERVAL_MS: '1000',
  TANDEM_WORKER_LOCK_DURATION_MS: '3000',
  TANDEM_WORKER_STALLED_INTERVAL_MS: '1000',
  TANDEM_WORKER_BACKOFF_BASE_MS: '50',
  TANDEM_WORKER_BACKOFF_MAX_MS: '500',
  TANDEM_WORKER_LISTEN_CHECK_MS: '500',
  TANDEM_WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
  TANDEM_WORKER_CONCURRENCY: '16',
  TANDEM_LOG_LEVEL: 'error',
};

/**
 * @example
 * const stack = await startResilienceStack({ worker: 'in-process' });
 * afterAll(() => stack.stop());
 */
export async function startResilienceStack(options: {
  worker: 'in-process' | 'child-process';
  redis?: 'single' | 'cluster';
  functionInstances?: number;
}): Promise<ResilienceStack> {
  const cluster = await startCluster();
  await setupDatabase({ url: cluster.url });
  const redisCluster = options.redis === 'cluster' ? await startRedisCluster() : undefined;
  const redis = redisCluster ? undefined : await startRedisServer();
  const redisUrl = redisCluster?.url ?? redis!.url;
  const serviceUrl = withUser(cluster.url, 'postgres');
  const functionInstances = await Promise.all(
    Array.from({ length: options.functionInstances ?? 1 }, () =>
      startFunctions({ port: 0, env: functionEnv({ databaseUrl: serviceUrl, redisUrl, jwtSecret: JWT_SECRET, underLoad: true }) }),
    ),
  );
  const functions = functionInstances[0]!;
  const sql = postgres(cluster.url, { max: 4, onnotice: () => undefined });
  const owner = await createUser(sql, { displayName: 'Owner' });
  const ownerToken = await tokenFor(owner, { secret: JWT_SECRET, expiresIn: '2h' });
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values ('resilience', ${owner.id}) returning id`;
  const workerPort = await findFreePort();
  const workerEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: serviceUrl,
    REDIS_URL: redisUrl,
    PORT: String(workerPort),
    TANDEM_DIAGNOSTIC_JOBS: 'on',
    ...FAST_WORKER,
  };
  const children: ChildProcess[] = [];
  const worker = options.worker === 'in-process' ? await startWorker(loadConfig({ ...workerEnv, PORT: '0' })) : undefined;
  return {
    worker,
    cluster,
    redis: redis as RedisServer,
    redisCluster,
    redisUrl,
    functions,
    functionInstances,
    sql,
    owner,
    ownerToken,
    projectId: project!.id,
    workerEnv,
    spawnWorker(env = {}) {
      const child = spawnWorkerProcess({ ...workerEnv, ...env });
      children.push(child);
      return child;
    },
    async stop() {
      await worker?.stop();
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(functionInstances.map((instance) => instance.stop()));
      await sql.end({ timeout: 1 });
      await redis?.stop();
      await redisCluster?.stop();
      await cluster.destroy();
    },
  };
}

/** Submits one job through POST /jobs and returns the HTTP status and job id. */
export async function submitJob(
  stack: ResilienceStack,
  payload: Record<string, unknown>,
  idempotencyKey?: string,
  functions: RunningFunctions = stack.functions,
): Promise<{ status: number; id?: string }> {
  try {
    const response = await fetch(`${functions.url}/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.ownerToken}`,
        'content-type': 'application/json',
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: JSON.stringify({ project_id: stack.projectId, type: 'diagnostic.sleep', payload }),
    });
    const body = (await response.json().catch(() => ({}))) as { id?: string };
    return { status: response.status, id: body.id };
  } catch {
    return { status: 0 };
  }
}

/** Counts the project's jobs by status (retrying while Postgres is down). */
export async function jobCounts(stack: ResilienceStack): Promise<Record<string, number>> {
  const rows = await stack.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from public.jobs where project_id = ${stack.projectId} group by status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/**
 * Polls until every job of the project is final; returns the counts.
 *
 * @example
 * const counts = await waitAllFinal(stack, 1000, 60_000);
 */
export async function waitAllFinal(stack: ResilienceStack, expected: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await jobCounts(stack).catch(() => ({}) as Record<string, number>);
    const unfinished = (counts.queued ?? 0) + (counts.running ?? 0);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (total >= expected && unfinished === 0) return counts;
    if (Date.now() > deadline) throw new Error(`not all jobs final after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs `task` for every item with at most `concurrency` at a time. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T, index);
      }
    }),
  );
  return results;
}

/** Prints a figures line the way the suite reports them. */
export function report(name: string, figures: Record<string, unknown>): void {
  process.stdout.write(`resilience ${name}: ${JSON.stringify(figures)}\n`);
}
