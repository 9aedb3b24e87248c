/**
 * `startWorker(config)`: the whole worker in one call — BullMQ worker and processor, the
 * dispatcher on `LISTEN tandem_jobs`, the sweeper (and retention), the cache invalidator
 * on `LISTEN tandem_cache`, and /health + /metrics. `main.ts` is its CLI; tests, the
 * devstack and the benchmark run it in-process.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { Worker } from 'bullmq';
import { createLogger, type Logger } from '../../core/log.ts';
import { createRepeatedLog, withRepeatsFolded } from '../../core/log-repeats.ts';
import { createRedisClient, inspectRedis, parseRedisUrl, type RedisClient, type RedisSettings } from '../../core/redis/connection.ts';
import { redisKeys, type RedisKeyLayout } from '../../core/redis/keys.ts';
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
import { createInvitationMailer, type InvitationMailer } from './mail/outbox.ts';
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
  /** Drains the invitation mail outbox; undefined when no SMTP server is configured. */
  readonly mailer: InvitationMailer | undefined;
  health(): Promise<HealthReport>;
  /**
   * Graceful stop: takes no new jobs, lets active ones finish within
   * `shutdownTimeoutMs` (then aborts them and leaves them to BullMQ's stalled-job
   * recovery, as their next attempt), writes
   * pending status updates and closes every connection.
   */
  stop(): Promise<void>;
}

/** A Redis refusal (an error reply) counts against /health this long after it was seen. */
export const REDIS_REFUSAL_MEMORY_MS = 60_000;
/** Start-up checks of Redis are retried with a doubling delay up to this. */
const PREFLIGHT_MAX_DELAY_MS = 30_000;

async function settled<T>(work: Promise<T>, timeoutMs: number): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs)))]);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why Redis cannot be used yet (undefined: it can), and what is wrong but tolerable: the
 * client must become ready, and inspectRedis must find no problem. Each try waits at
 * most a few seconds.
 */
async function preflight(
  redis: RedisClient,
  settings: RedisSettings,
  keys: RedisKeyLayout,
  lastError: () => string | undefined,
): Promise<{ problem?: string; warnings: string[] }> {
  if (redis.status !== 'ready') {
    const ready = await settled(once(redis, 'ready'), 5_000);
    if (!ready.ok) return { problem: `Redis unreachable (${settings.display}): ${lastError() ?? redis.status}`, warnings: [] };
  }
  const inspected = await settled(inspectRedis(redis, settings, keys), 5_000);
  if (!inspected.ok) return { problem: `Redis did not answer the start-up checks (${settings.display}): ${inspected.reason}`, warnings: [] };
  const { problems, warnings } = inspected.value;
  return { problem: problems.length ? problems.join('; ') : undefined, warnings };
}

/**
 * Starts a worker. While Redis is unreachable or unusable (a cluster reached as a single
 * node, a script that fails) it does not start taking jobs: /health answers 503 with the
 * reason, the reason is logged once per interval, and the checks are retried with a
 * doubling delay (1 s up to 30 s).
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
  const settings = parseRedisUrl(config.redisUrl, { tlsCa: config.redisTlsCa });
  const keys = redisKeys(config.redisPrefix);
  // Failures that recur with every poll, event or reconnection: one line per interval.
  const repeats = createRepeatedLog(log);
  const foldedLog = withRepeatsFolded(log);

  const sql = connectPostgres(config.databaseUrl, { applicationName: config.name, max: config.dbPoolSize });
  // Commands fail fast while Redis is away (the sweeper catches up); the BullMQ worker's
  // own connections wait and reconnect instead (maxRetriesPerRequest: null).
  const redis = await createRedisClient(settings, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const workerRedis = await createRedisClient(settings, { maxRetriesPerRequest: null });
  let connectionError: string | undefined;
  let refusal: { reason: string; at: number } | undefined;
  const onRedisError = (error: Error) => {
    if (error.name === 'ReplyError') refusal = { reason: error.message, at: Date.now() };
    else connectionError = error.message;
    repeats.warn('redis_error', { error: error.message, redis: settings.display });
  };
  redis.on('error', onRedisError);
  workerRedis.on('error', onRedisError);
  redis.on('ready', () => {
    connectionError = undefined;
    repeats.resolved('redis_error');
  });

  let stopping = false;
  let starting: string | undefined = `connecting to Redis (${settings.display})`;
  let warnings: string[] = [];
  let health: () => Promise<HealthReport> = async () => ({ status: stopping ? 'stopping' : 'starting', reason: starting, redis: false });
  let queue: JobQueue | undefined;
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
      if (!queue) return {};
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      return counts as Record<string, number>;
    },
  });

  // Up before Redis is usable, so that /health can say why the worker is not working.
  let server: Server | undefined;
  let port: number | undefined;
  if (options.http !== false) {
    ({ server, port } = await startOpsServer({ port: config.port, host: config.metricsHost, registry: metrics.registry, health: () => health() }));
  }
  for (let delayMs = 1_000; ; delayMs = Math.min(delayMs * 2, PREFLIGHT_MAX_DELAY_MS)) {
    const checked = await preflight(redis, settings, keys, () => connectionError);
    warnings = checked.warnings;
    if (!checked.problem) break;
    starting = checked.problem;
    repeats.error('redis_unusable', { reason: checked.problem, retry_in_ms: delayMs });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  repeats.resolved('redis_unusable');
  starting = undefined;
  for (const warning of warnings) log.error('redis_misconfigured', { warning, redis: settings.display });
  const jobQueue = await openJobQueue(redis, { keys, onError: onRedisError });
  queue = jobQueue;

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
  const cancellation = createCancellation({ sql, queue: jobQueue, lifecycle, log });
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
  const dispatcher = createDispatcher({ sql, queue: jobQueue, cancellation, metrics, log: foldedLog });
  const sweeper = createSweeper({
    sql,
    queue: jobQueue,
    cancellation,
    metrics,
    log: foldedLog,
    retentionSeconds: config.retentionSeconds,
    deadLetterSeconds: config.deadLetterSeconds,
  });
  const invalidator = createInvalidator({ redis, keys, metrics, log: foldedLog });

  const worker = new Worker<JobMessage>(JOBS_QUEUE, processor.process, {
    connection: workerRedis,
    prefix: keys.bullPrefix,
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
  worker.on('error', (error) => {
    if (error.name === 'ReplyError') refusal = { reason: error.message, at: Date.now() };
    repeats.warn('bullmq_worker_error', { error: error.message });
  });
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

  // Invitation mails: a private outbox in Postgres, not a BullMQ job (worker/src/mail/outbox.ts).
  const mailer = config.mail ? createInvitationMailer({ sql, config: config.mail, log: foldedLog }) : undefined;
  let mailTimer: NodeJS.Timeout | undefined;
  if (mailer && config.mail) {
    sessions.push(
      await listenSupervised({
        url: config.databaseUrl,
        channel: 'tandem_mail',
        name: config.name,
        probe: sql,
        checkIntervalMs: config.listenCheckMs,
        log,
        onNotify: () => void mailer.drain(),
        onListen: () => {
          metrics.listenReconnects.inc({ channel: 'tandem_mail' });
          void mailer.drain();
        },
      }),
    );
    mailTimer = setInterval(() => void mailer.drain(), config.mail.pollMs);
  } else {
    log.warn('invitation_mail_disabled', { reason: 'SMTP_HOST is not set: invitations wait in the outbox unmailed' });
  }

  void worker.run().catch((error: unknown) => log.error('bullmq_worker_stopped', { error }));
  void sweeper.sweep();
  const sweepTimer = setInterval(() => void sweeper.sweep(), config.sweepIntervalMs);

  health = async (): Promise<HealthReport> => {
    const [postgres, probe] = await Promise.all([settled(sql`select 1`, 2_000), settled(redis.exists(keys.cacheEpoch), 1_500)]);
    const channels = ['tandem_jobs', 'tandem_cache', 'tandem_mail'];
    const listening = Object.fromEntries(sessions.map((session, index) => [channels[index]!, session.listening()]));
    const recentRefusal = refusal && Date.now() - refusal.at < REDIS_REFUSAL_MEMORY_MS ? refusal : undefined;
    const reasons: string[] = [];
    if (!postgres.ok) reasons.push(`Postgres unreachable: ${postgres.reason}`);
    if (!probe.ok) reasons.push(`Redis unreachable (${settings.display}): ${connectionError ?? probe.reason}`);
    else if (recentRefusal) reasons.push(`Redis refused a command ${Math.round((Date.now() - recentRefusal.at) / 1000)} s ago: ${recentRefusal.reason}`);
    for (const [channel, on] of Object.entries(listening)) if (!on) reasons.push(`not listening on ${channel}`);
    return {
      status: stopping ? 'stopping' : reasons.length === 0 ? 'ok' : 'degraded',
      postgres: postgres.ok,
      redis: probe.ok && !recentRefusal,
      listening,
      active_jobs: processor.activeCount(),
      concurrency: config.concurrency,
      ...(reasons.length ? { reason: reasons.join('; ') } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  };

  log.info('worker_started', { port, concurrency: config.concurrency, queue: JOBS_QUEUE, prefix: keys.prefix, redis: settings.display, redis_mode: settings.mode });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      log.info('worker_stopping', { active_jobs: processor.activeCount() });
      clearInterval(sweepTimer);
      clearInterval(mailTimer);
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
      await mailer?.idle();
      mailer?.close();
      await lifecycle.drain().catch((error: unknown) => log.warn('final_writes_failed', { error }));
      await jobQueue.close().catch(() => undefined);
      redis.disconnect();
      workerRedis.disconnect();
      await sql.end({ timeout: 5 });
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      log.info('worker_stopped', { drained });
    })());

  return { config, metrics, port, sql, queue: jobQueue, lifecycle, processor, cancellation, dispatcher, sweeper, mailer, health, stop };
}
