/**
 * `startWorker(config)`: the whole worker in one call — BullMQ worker and processor, the
 * dispatcher on `LISTEN tandem_jobs`, the sweeper (and retention), the cache invalidator
 * on `LISTEN tandem_cache`, and /health + /metrics. `main.ts` is its CLI; tests, the
 * devstack and the benchmark run it in-process.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../core/log.ts';
import { JOBS_QUEUE, openJobQueue, type JobMessage, type JobQueue } from '../../core/queue.ts';
import { createCancellation, type Cancellation } from './cancellation.ts';
import type { WorkerConfig } from './config.ts';
import { connectPostgres, type Sql } from './db.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { startOpsServer, type HealthReport } from './http.ts';
import { createInvalidator } from './invalidator.ts';
import { createJobCatalog } from '../../core/jobs/catalog.ts';
import { catalogMismatch, jobHandlersFor } from './jobs/registry.ts';
import type { JobHandler } from './jobs/types.ts';
import { JobLifecycle } from './lifecycle.ts';
import { listenSupervised, type ListenSession } from './listen.ts';
import { createMetrics, type WorkerMetrics } from './metrics.ts';
import { createProcessor, type Processor } from './processor.ts';
import { createSweeper, type Sweeper } from './sweeper.ts';

export interface StartOptions {
  log?: Logger;
  /**
   * Replaces the built-in handlers (tests); defaults to worker/src/jobs/registry.ts's, with
   * the diagnostic ones when `config.diagnosticJobs` is on.
   */
  handlers?: ReadonlyMap<string, JobHandler<never>>;
  /** Process-wide default metrics (CPU, memory) in /metrics; on in main.ts. */
  defaultMetrics?: boolean;
  /** Serve /health and /metrics (default true). */
  http?: boolean;
}

export interface RunningWorker {
  readonly config: WorkerConfig;
  readonly metrics: WorkerMetrics;
  /** Port of /health and /metrics (undefined with `http: false`). */
  readonly port: number | undefined;
  readonly sql: Sql;
  readonly queue: JobQueue;
  readonly lifecycle: JobLifecycle;
  readonly processor: Processor;
  readonly cancellation: Cancellation;
  readonly dispatcher: Dispatcher;
  readonly sweeper: Sweeper;
  health(): Promise<HealthReport>;
  /**
   * Graceful stop: takes no new jobs, lets active ones finish within
   * `shutdownTimeoutMs` (then aborts them and leaves them to BullMQ's stalled-job
   * recovery, as their next attempt), writes
   * pending status updates and closes every connection.
   */
  stop(): Promise<void>;
}

async function waitForRedis(redis: Redis, log: Logger): Promise<void> {
  if (redis.status === 'ready') return;
  log.info('waiting_for_redis');
  await once(redis, 'ready');
}

/**
 * Starts a worker.
 *
 * @example
 * const worker = await startWorker(loadConfig(process.env));
 * process.once('SIGTERM', () => void worker.stop());
 */
export async function startWorker(config: WorkerConfig, options: StartOptions = {}): Promise<RunningWorker> {
  const log = options.log ?? createLogger({ service: 'worker', worker: config.name }, { level: config.logLevel });
  const catalog = createJobCatalog({ diagnostics: config.diagnosticJobs });
  const handlers = options.handlers ?? jobHandlersFor(config.diagnosticJobs);
  if (!options.handlers) {
    const mismatch = catalogMismatch(catalog, handlers);
    if (mismatch.missingHandlers.length || mismatch.unknownHandlers.length) {
      throw new Error(`job catalog and handlers disagree: ${JSON.stringify(mismatch)}`);
    }
  }

  const sql = connectPostgres(config.databaseUrl, { applicationName: config.name, max: config.dbPoolSize });
  // Commands fail fast while Redis is away (the sweeper catches up); the BullMQ worker's
  // own connections wait and reconnect instead (maxRetriesPerRequest: null).
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const workerRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (error) => log.debug('redis_error', { error }));
  workerRedis.on('error', (error) => log.debug('redis_error', { error }));
  await waitForRedis(redis, log);
  const queue = await openJobQueue(redis, { prefix: config.queuePrefix });
  queue.on('error', (error) => log.debug('queue_error', { error }));

  const metrics = createMetrics({
    defaultMetrics: options.defaultMetrics,
    collectJobsByStatus: async () => {
      const rows = await sql<{ status: string; n: number }[]>`
        select s.status::text as status, count(j.id)::int as n
        from unnest(enum_range(null::public.job_status)) as s(status)
        left join public.jobs j on j.status = s.status group by s.status`;
      return Object.fromEntries(rows.map((row) => [row.status, row.n]));
    },
    collectQueueJobs: async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      return counts as Record<string, number>;
    },
  });

  const lifecycle = new JobLifecycle(sql, {
    writeBatchMs: config.writeBatchMs,
    onTransition: (transition, applied, requested) => {
      if (applied) metrics.transitions.inc({ transition, applied: 'yes' }, applied);
      if (requested - applied) metrics.transitions.inc({ transition, applied: 'no' }, requested - applied);
    },
    onBatch: (transition, size) => metrics.writeBatchSize.observe({ transition }, size),
    onConnectionRetry: (error) => log.warn('status_write_retrying', { error }),
    onWriteSplit: (transition, size, error) => log.warn('status_write_split', { transition, batch_size: size, error }),
  });
  const cancellation = createCancellation({ sql, queue, lifecycle, log });
  const processor = createProcessor({
    sql,
    lifecycle,
    cancellation,
    handlers,
    catalog,
    metrics,
    log,
    backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
    progressIntervalMs: config.progressIntervalMs,
  });
  const dispatcher = createDispatcher({ sql, queue, cancellation, metrics, log });
  const sweeper = createSweeper({
    sql,
    queue,
    cancellation,
    metrics,
    log,
    retentionSeconds: config.retentionSeconds,
    deadLetterSeconds: config.deadLetterSeconds,
  });
  const invalidator = createInvalidator({ redis, metrics, log });

  const worker = new Worker<JobMessage>(JOBS_QUEUE, processor.process, {
    connection: workerRedis,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    // Postgres counts attempts (a stalled run is an attempt); BullMQ only re-runs.
    maxStalledCount: 25,
    removeOnComplete: { count: config.keepCompleted },
    removeOnFail: { age: config.deadLetterSeconds },
    autorun: false,
  });
  cancellation.attach(worker);
  worker.on('error', (error) => log.warn('bullmq_worker_error', { error }));
  worker.on('stalled', (jobId) => log.warn('job_stalled', { job_id: jobId }));

  const sessions: ListenSession[] = [];
  sessions.push(
    await listenSupervised({
      url: config.databaseUrl,
      channel: 'tandem_jobs',
      name: config.name,
      probe: sql,
      checkIntervalMs: config.listenCheckMs,
      log,
      onNotify: (payload) => dispatcher.handle(payload),
      onListen: (reconnect) => {
        metrics.listenReconnects.inc({ channel: 'tandem_jobs' });
        // Rows inserted while nobody listened have no notification: sweep for them.
        if (reconnect) void sweeper.sweep();
      },
    }),
    await listenSupervised({
      url: config.databaseUrl,
      channel: 'tandem_cache',
      name: config.name,
      probe: sql,
      checkIntervalMs: config.listenCheckMs,
      log,
      onNotify: (payload) => invalidator.handle(payload),
      onListen: () => {
        metrics.listenReconnects.inc({ channel: 'tandem_cache' });
        invalidator.onListen();
      },
    }),
  );

  void worker.run().catch((error: unknown) => log.error('bullmq_worker_stopped', { error }));
  void sweeper.sweep();
  const sweepTimer = setInterval(() => void sweeper.sweep(), config.sweepIntervalMs);

  let stopping = false;
  const health = async (): Promise<HealthReport> => {
    const postgresOk = await sql`select 1`.then(
      () => true,
      () => false,
    );
    const redisOk = await redis.ping().then(
      (answer) => answer === 'PONG',
      () => false,
    );
    const listening = Object.fromEntries(sessions.map((session, index) => [index === 0 ? 'tandem_jobs' : 'tandem_cache', session.listening()]));
    const ok = postgresOk && redisOk && Object.values(listening).every(Boolean);
    return {
      status: stopping ? 'stopping' : ok ? 'ok' : 'degraded',
      postgres: postgresOk,
      redis: redisOk,
      listening,
      active_jobs: processor.activeCount(),
      concurrency: config.concurrency,
    };
  };

  let server: Server | undefined;
  let port: number | undefined;
  if (options.http !== false) {
    ({ server, port } = await startOpsServer({ port: config.port, host: config.metricsHost, registry: metrics.registry, health }));
  }
  log.info('worker_started', { port, concurrency: config.concurrency, queue: JOBS_QUEUE, prefix: config.queuePrefix });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      log.info('worker_stopping', { active_jobs: processor.activeCount() });
      clearInterval(sweepTimer);
      // Take no new job from this moment; then stop listening.
      const closing = worker.close();
      await Promise.all(sessions.map((session) => session.stop()));
      invalidator.stop();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        closing.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        log.warn('shutdown_timeout', { active_jobs: processor.activeCount(), timeout_ms: config.shutdownTimeoutMs });
        // Their rows stay `running`; BullMQ's stalled-job check (or, if their BullMQ job
        // ended up failed, the sweeper) runs them again as their next attempt.
        const forced = worker.close(true).catch(() => undefined);
        cancellation.abortAll();
        await forced;
      }
      await dispatcher.drain();
      await sweeper.idle();
      await invalidator.idle();
      await lifecycle.drain().catch((error: unknown) => log.warn('final_writes_failed', { error }));
      await queue.close().catch(() => undefined);
      redis.disconnect();
      workerRedis.disconnect();
      await sql.end({ timeout: 5 });
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      log.info('worker_stopped', { drained });
    })());

  return { config, metrics, port, sql, queue, lifecycle, processor, cancellation, dispatcher, sweeper, health, stop };
}
