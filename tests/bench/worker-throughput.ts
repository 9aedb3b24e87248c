/**
 * Worker throughput: no-op jobs per second through the Tandem worker (Postgres status
 * writes, job_updated events, dispatcher) next to raw BullMQ no-op throughput, measured in
 * the same run on the same Redis with the same concurrency.
 *
 *   npx tsx tests/bench/worker-throughput.ts [--jobs 5000] [--concurrency 200]
 *
 * Three figures:
 *   raw        BullMQ alone: addBulk N jobs, a Worker whose processor returns at once.
 *   processing Tandem, jobs already queued (rows + BullMQ jobs), from worker start until
 *              every row is final (queued → running → succeeded, two status writes and
 *              two job_updated events per job).
 *   end-to-end Tandem, from one SQL INSERT of N rows until every row is final: the
 *              dispatcher enqueues each row from its NOTIFY, then processing as above.
 * `benchWorkerThroughput` is exported for `npm run bench`.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { z } from 'zod';
import { jobOptionsFor, JOBS_QUEUE } from '../../core/queue.ts';
import { createLogger } from '../../core/log.ts';
import type { WorkerConfig } from '../../worker/src/config.ts';
import { startWorker } from '../../worker/src/worker.ts';

export interface WorkerThroughput {
  jobs: number;
  concurrency: number;
  rawJobsPerSecond: number;
  processingJobsPerSecond: number;
  endToEndJobsPerSecond: number;
  /** processing / raw */
  ratio: number;
}

const quiet = createLogger({ service: 'bench' }, { level: 'error' });

async function rawBullmq(redisUrl: string, jobs: number, concurrency: number): Promise<number> {
  const prefix = `bench-raw-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-noop', { connection, prefix });
  for (let i = 0; i < jobs; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ name: 'noop', data: { id: String(i + k) }, opts: { jobId: randomUUID(), removeOnComplete: { count: 1000 } } })));
  }
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker('raw-noop', async () => null, { connection: workerConnection, prefix, concurrency });
  worker.on('completed', () => {
    if (++done === jobs) finish();
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return jobs / seconds;
}

async function tandemProject(sql: postgres.Sql): Promise<string> {
  const [user] = await sql<{ id: string }[]>`
    insert into auth.users (id, aud, role, email) values (gen_random_uuid(), 'authenticated', 'authenticated', ${`bench-${randomUUID()}@bench.dev`}) returning id`;
  const [project] = await sql<{ id: string }[]>`insert into public.projects (name, created_by) values ('worker bench', ${user!.id}) returning id`;
  return project!.id;
}

async function waitAllFinal(sql: postgres.Sql, projectId: string, jobs: number): Promise<void> {
  for (;;) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from public.jobs where project_id = ${projectId} and status = 'succeeded'`;
    if (row!.n >= jobs) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function benchConfig(databaseUrl: string, redisUrl: string, concurrency: number): WorkerConfig {
  const suffix = randomUUID().slice(0, 8);
  return {
    databaseUrl, redisUrl, port: 0, metricsHost: '127.0.0.1', name: `bench-${suffix}`, redisPrefix: `{bench-${suffix}}`, concurrency,
    dbPoolSize: 10, sweepIntervalMs: 3_600_000, retentionSeconds: 7 * 86_400, deadLetterSeconds: 7 * 86_400,
    keepCompleted: 1000, backoffBaseMs: 1000, backoffMaxMs: 60_000, progressIntervalMs: 250, writeBatchMs: 0,
    shutdownTimeoutMs: 10_000, lockDurationMs: 30_000, stalledIntervalMs: 30_000, listenCheckMs: 5000, logLevel: 'error',
    diagnosticJobs: true,
  };
}

async function tandemProcessing(databaseUrl: string, redisUrl: string, jobs: number, concurrency: number): Promise<number> {
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
  const projectId = await tandemProject(sql);
  const config = benchConfig(databaseUrl, redisUrl, concurrency);
  // Rows and BullMQ jobs exist before the worker starts (nobody listens to their NOTIFYs).
  const rows = await sql<{ id: string; type: string }[]>`
    insert into public.jobs (project_id, type, payload)
    select ${projectId}, 'diagnostic.sleep', '{"ms": 0}' from generate_series(1, ${jobs}) returning id, type`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(JOBS_QUEUE, { connection, prefix: config.redisPrefix });
  for (let i = 0; i < rows.length; i += 1000) {
    await queue.addBulk(rows.slice(i, i + 1000).map((row) => ({ name: row.type, data: { id: row.id }, opts: jobOptionsFor(row) })));
  }
  const started = performance.now();
  const worker = await startWorker(config, { log: quiet, http: false });
  await waitAllFinal(sql, projectId, jobs);
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  await sql.end();
  return jobs / seconds;
}

async function tandemEndToEnd(databaseUrl: string, redisUrl: string, jobs: number, concurrency: number): Promise<number> {
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
  const projectId = await tandemProject(sql);
  const worker = await startWorker(benchConfig(databaseUrl, redisUrl, concurrency), { log: quiet, http: false });
  const started = performance.now();
  await sql`insert into public.jobs (project_id, type, payload)
            select ${projectId}, 'diagnostic.sleep', '{"ms": 0}' from generate_series(1, ${jobs})`;
  await waitAllFinal(sql, projectId, jobs);
  const seconds = (performance.now() - started) / 1000;
  await worker.queue.obliterate({ force: true });
  await worker.stop();
  await sql.end();
  return jobs / seconds;
}

/**
 * Measures the three figures on the given (superuser) database and Redis.
 *
 * @example
 * const figures = await benchWorkerThroughput({ databaseUrl, redisUrl, jobs: 5000, concurrency: 200 });
 */
export async function benchWorkerThroughput(options: { databaseUrl: string; redisUrl: string; jobs?: number; concurrency?: number }): Promise<WorkerThroughput> {
  const jobs = options.jobs ?? 5000;
  const concurrency = options.concurrency ?? 200;
  await rawBullmq(options.redisUrl, Math.min(jobs, 1000), concurrency); // warm-up
  const rawJobsPerSecond = await rawBullmq(options.redisUrl, jobs, concurrency);
  const processingJobsPerSecond = await tandemProcessing(options.databaseUrl, options.redisUrl, jobs, concurrency);
  const endToEndJobsPerSecond = await tandemEndToEnd(options.databaseUrl, options.redisUrl, jobs, concurrency);
  return { jobs, concurrency, rawJobsPerSecond, processingJobsPerSecond, endToEndJobsPerSecond, ratio: processingJobsPerSecond / rawJobsPerSecond };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { integerText, parseEnv, parseFlags, UsageError } = await import('../../devstack/config/cli.ts');
  let args: { jobs: number; concurrency: number };
  try {
    const { values } = parseFlags(process.argv.slice(2), { jobs: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '200' } });
    args = parseEnv(z.object({ jobs: integerText(), concurrency: integerText() }), values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`worker-throughput: ${error.message}\n`);
    process.exit(2);
  }
  const { setupDatabase } = await import('../../devstack/db/setup.ts');
  const { startCluster } = await import('../../devstack/postgres/cluster.ts');
  const { startRedisServer } = await import('../../devstack/redis/server.ts');
  const cluster = await startCluster({ fsync: true });
  const redis = await startRedisServer();
  try {
    await setupDatabase({ url: cluster.url });
    const figures = await benchWorkerThroughput({
      databaseUrl: cluster.url,
      redisUrl: redis.url,
      jobs: args.jobs,
      concurrency: args.concurrency,
    });
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await redis.stop();
    await cluster.destroy();
  }
}
