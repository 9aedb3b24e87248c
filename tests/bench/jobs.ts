/**
 * Benchmark 3 — jobs: end-to-end throughput through POST /jobs, submission latency at a
 * quarter of saturation, and the worker alone (with its Postgres status writes) next to
 * raw BullMQ with a no-op processor, each at concurrency 1, 8 and 32.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type postgres from 'postgres';
import { JOBS_QUEUE, jobOptionsFor } from '../../core/queue.ts';
import { loadConfig } from '../../worker/src/config.ts';
import { startWorker } from '../../worker/src/worker.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';
import { median, openLoopLatency, type OpenLoopFigures } from './stats.ts';

export interface JobsFigures {
  jobs_e2e_per_s: number;
  submit_saturation_rps: number;
  /** Poisson arrivals at a quarter of saturation (the goal's figure). */
  submit_p50_ms: number;
  submit_p99_ms: number;
  /** p99 of each of the three 10 s runs (the figure is their median). */
  submit_p99_runs_ms: number[];
  /** The same rate from autocannon's 10 connections, which send in step (bursts of 10). */
  submit_burst_p50_ms: number;
  submit_burst_p99_ms: number;
  worker_per_s: Record<number, number>;
  raw_bullmq_per_s: Record<number, number>;
}

async function waitUntilAllSucceeded(sql: postgres.Sql, projectId: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ done: number }[]>`
      select count(*)::int as done from public.jobs where project_id = ${projectId} and status = 'succeeded'`;
    if ((row?.done ?? 0) >= expected) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${row?.done} of ${expected} jobs succeeded in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function runAutocannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** A fresh project owned by the benchmark user, for one measurement. */
async function freshProject(sql: postgres.Sql, ownerId: string): Promise<string> {
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values (${`bench jobs ${randomUUID().slice(0, 8)}`}, ${ownerId}) returning id`;
  return project!.id;
}

/**
 * @example
 * const figures = await benchJobs({ sql, functionsUrl, token, ownerId, serviceDbUrl, redisUrl, count: 20_000, concurrencies: [1, 8, 32], rounds: 3 });
 */
export async function benchJobs(options: {
  sql: postgres.Sql;
  functionsUrl: string;
  token: string;
  ownerId: string;
  serviceDbUrl: string;
  redisUrl: string;
  count: number;
  concurrencies: number[];
  /** Runs of each throughput measurement; figures are their medians. */
  rounds: number;
}): Promise<JobsFigures> {
  const { sql, count } = options;
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };

  // End to end: a worker process (concurrency 32, off the load generator's event loop)
  // drains while autocannon submits `count` jobs through POST /jobs.
  const endToEnd = async () => {
    const project = await freshProject(sql, options.ownerId);
    const worker = spawnWorkerProcess({
      DATABASE_URL: options.serviceDbUrl, REDIS_URL: options.redisUrl, PORT: '0', TANDEM_WORKER_CONCURRENCY: '32', TANDEM_LOG_LEVEL: 'error',
    });
    const started = Date.now();
    const submission = await runAutocannon({
      url: `${options.functionsUrl}/jobs`,
      method: 'POST',
      headers,
      body: JSON.stringify({ project_id: project, type: 'diagnostic.sleep', payload: { ms: 0 } }),
      connections: 50,
      amount: count,
    });
    const finished = await waitUntilAllSucceeded(sql, project, count, 600_000);
    worker.kill('SIGTERM');
    await once(worker, 'exit');
    return { perS: count / ((finished - started) / 1000), saturation: submission.requests.average };
  };
  const endToEndRuns = [];
  for (let run = 0; run < options.rounds; run++) endToEndRuns.push(await endToEnd());
  const saturation = median(endToEndRuns.map((r) => r.saturation));

  // Submission latency at a quarter of the saturation rate (no worker: only the API path),
  // first with independent (Poisson) arrivals, then as autocannon paces 10 connections.
  const quarter = Math.max(1, Math.floor(saturation / 4));
  // Each phase starts from a settled database: the 20k rows just written would otherwise
  // be vacuumed and checkpointed during this one, timing the previous phase's aftermath.
  await sql.unsafe('vacuum (analyze) public.jobs, realtime.messages');
  await sql`checkpoint`;
  const latencyProject = await freshProject(sql, options.ownerId);
  const body = JSON.stringify({ project_id: latencyProject, type: 'diagnostic.sleep', payload: { ms: 0 } });
  const openRuns: OpenLoopFigures[] = [];
  for (let run = 0; run < 3; run++) {
    const figures = await openLoopLatency({
      rate: quarter,
      seconds: 10,
      send: () => fetch(`${options.functionsUrl}/jobs`, { method: 'POST', headers, body }),
    });
    if (figures.errors > 0) throw new Error(`${figures.errors} of ${figures.sent} paced submissions failed`);
    openRuns.push(figures);
  }
  const open = { p50_ms: median(openRuns.map((r) => r.p50_ms)), p99_ms: median(openRuns.map((r) => r.p99_ms)) };
  const paced = await runAutocannon({
    url: `${options.functionsUrl}/jobs`,
    method: 'POST',
    headers,
    body,
    connections: 10,
    overallRate: quarter,
    duration: 10,
  });

  const workerPerS: Record<number, number> = {};
  const rawPerS: Record<number, number> = {};
  for (const concurrency of options.concurrencies) {
    const worker: number[] = [];
    const raw: number[] = [];
    for (let run = 0; run < options.rounds; run++) {
      worker.push(await workerAlone(options, concurrency));
      raw.push(await rawBullmq(options.redisUrl, count, concurrency));
    }
    workerPerS[concurrency] = median(worker);
    rawPerS[concurrency] = median(raw);
  }
  return {
    jobs_e2e_per_s: Math.round(median(endToEndRuns.map((r) => r.perS))),
    submit_saturation_rps: Math.round(saturation),
    submit_p50_ms: open.p50_ms,
    submit_p99_ms: open.p99_ms,
    submit_p99_runs_ms: openRuns.map((r) => r.p99_ms),
    submit_burst_p50_ms: paced.latency.p50,
    submit_burst_p99_ms: paced.latency.p99,
    worker_per_s: workerPerS,
    raw_bullmq_per_s: rawPerS,
  };
}

/** The worker alone on `count` pre-enqueued rows (inserted with triggers, then enqueued). */
async function workerAlone(
  options: { sql: postgres.Sql; ownerId: string; serviceDbUrl: string; redisUrl: string; count: number },
  concurrency: number,
): Promise<number> {
  const { sql, count } = options;
  const prefix = `{bench-w${concurrency}-${randomUUID().slice(0, 6)}}`;
  const projectId = await freshProject(sql, options.ownerId);
  const rows = await sql<{ id: string; type: string }[]>`
    insert into public.jobs (project_id, created_by, type, payload)
    select ${projectId}, ${options.ownerId}, 'diagnostic.sleep', '{"ms": 0}'::jsonb from generate_series(1, ${count})
    returning id, type`;
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(JOBS_QUEUE, { connection, prefix });
  for (let i = 0; i < rows.length; i += 1000) {
    await queue.addBulk(rows.slice(i, i + 1000).map((row) => ({ name: row.type, data: { id: row.id }, opts: jobOptionsFor(row) })));
  }
  const started = Date.now();
  const worker = await startWorker(
    loadConfig({
      DATABASE_URL: options.serviceDbUrl,
      REDIS_URL: options.redisUrl,
      PORT: '0',
      TANDEM_REDIS_PREFIX: prefix,
      TANDEM_WORKER_CONCURRENCY: String(concurrency),
      TANDEM_WORKER_SWEEP_INTERVAL_MS: '3600000',
      TANDEM_LOG_LEVEL: 'error',
      TANDEM_DIAGNOSTIC_JOBS: 'on',
    }),
  );
  const finished = await waitUntilAllSucceeded(sql, projectId, count, 900_000);
  await worker.stop();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return Math.round(count / ((finished - started) / 1000));
}

/** The same number of jobs through raw BullMQ: a no-op processor, no Postgres. */
async function rawBullmq(redisUrl: string, count: number, concurrency: number): Promise<number> {
  const prefix = `bench-raw${concurrency}-${randomUUID().slice(0, 6)}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('raw', { connection, prefix });
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({
        name: 'noop',
        data: { id: randomUUID() },
        opts: { jobId: `j${i + j}`, removeOnComplete: { count: 1000 } },
      })),
    );
  }
  let done = 0;
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const started = Date.now();
  const finished = await new Promise<number>((resolve) => {
    const worker = new Worker('raw', async () => undefined, {
      connection: workerConnection,
      prefix,
      concurrency,
    });
    worker.on('completed', () => {
      done += 1;
      if (done === count) {
        const at = Date.now();
        void worker.close().then(() => resolve(at));
      }
    });
  });
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return Math.round(count / ((finished - started) / 1000));
}
