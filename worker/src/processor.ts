/**
 * Runs one BullMQ job: moves its row through the lifecycle, validates the payload against
 * the catalog, calls the type's handler with a progress reporter and an AbortSignal, and
 * decides between success, retry (backoff via BullMQ's delayed set), final failure (left
 * in BullMQ's failed set, the dead-letter set) and cancel.
 *
 * Postgres decides: the row's `attempts` / `max_attempts` say whether another attempt is
 * allowed, whatever BullMQ's own counters say (a job re-enqueued by the sweeper or
 * recovered from a stalled worker starts from fresh BullMQ counters).
 *
 * Whatever a handler returns or throws ends its job once, with its real cause: a thrown
 * value of any kind becomes an error line (worker/src/storable.ts), and a result Postgres
 * cannot store fails the job with a message saying why (no retry: the same handler
 * would return the same kind of value).
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { validateJobPayload, type JobCatalog } from '../../core/jobs/catalog.ts';
import type { Logger } from '../../core/log.ts';
import type { JobMessage } from '../../core/queue.ts';
import { retryDelay } from './backoff.ts';
import { isConnectionError, type Sql } from './db.ts';
import type { JobHandler } from './jobs/types.ts';
import type { JobRow } from '../../core/jobs/row.ts';
import { STOPPING, type Cancellation } from './cancellation.ts';
import { UnstorableResultError, type JobLifecycle } from './lifecycle.ts';
import { errorText } from './storable.ts';
import type { WorkerMetrics } from './metrics.ts';

/**
 * What the processor throws to BullMQ for an attempt aborted because the worker stops
 * (shutdown timeout): the attempt writes nothing and is left to BullMQ's stalled-job
 * recovery, which runs it again as its next attempt.
 */
export class WorkerStoppingError extends Error {
  override readonly name = 'WorkerStoppingError';
  constructor() {
    super(STOPPING);
  }
}

/** When Postgres is unreachable, a job waits this long in BullMQ's delayed set (no attempt used). */
const INFRASTRUCTURE_RETRY_MS = 2000;

export interface ProcessorDeps {
  sql: Sql;
  lifecycle: JobLifecycle;
  cancellation: Cancellation;
  handlers: ReadonlyMap<string, JobHandler<never>>;
  /** The types this worker runs; a queued job of another type fails with the catalog's reason. */
  catalog: JobCatalog;
  metrics: WorkerMetrics;
  log: Logger;
  backoff: { baseMs: number; maxMs: number };
  progressIntervalMs: number;
}

/**
 * Throttles one run's progress writes: at most one per interval, the newest value wins,
 * and `close()` waits for the write in flight so the final transition comes after it.
 */
class ProgressReporter {
  private pending: number | undefined;
  private highest = -1;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly write: (progress: number) => Promise<{ cancelRequested: boolean }>,
    private readonly intervalMs: number,
    private readonly onCancelRequested: () => void,
    private readonly log: Logger,
  ) {}

  report(progress: number): void {
    if (this.closed || !Number.isFinite(progress) || progress <= this.highest) return;
    this.highest = progress;
    this.pending = progress;
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(): void {
    if (this.timer || this.inFlight) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.closed || this.pending === undefined) return;
    const value = this.pending;
    this.pending = undefined;
    this.lastWrite = Date.now();
    this.inFlight = this.write(value)
      .then((answer) => {
        if (answer.cancelRequested) this.onCancelRequested();
      })
      .catch((error: unknown) => this.log.warn('progress_write_failed', { error }))
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending !== undefined) this.schedule();
      });
  }
}

/**
 * The processor BullMQ calls. Its third argument is the attempt's AbortSignal, which
 * BullMQ aborts on `worker.cancelJob` / `cancelAllJobs` (worker/src/cancellation.ts);
 * BullMQ passes it only to a function that declares three parameters, so `process` keeps
 * three (none with a default, which would not count).
 *
 * @example
 * const processor = createProcessor(deps);
 * const worker = new Worker(JOBS_QUEUE, processor.process, { connection });
 */
export function createProcessor(deps: ProcessorDeps) {
  let running = 0;
  const { lifecycle, cancellation, metrics } = deps;
  const neverAborted = new AbortController().signal;

  const finish = (type: string, outcome: string, began: number) => {
    metrics.duration.observe({ type, outcome }, (performance.now() - began) / 1000);
  };

  async function process(job: Job<JobMessage>, token?: string, signal?: AbortSignal): Promise<unknown> {
    const id = String(job.data?.id ?? job.id);
    const began = performance.now();
    const log = deps.log.child({ job_id: id, type: job.name });
    try {
      return await run(job, id, token, signal ?? neverAborted, began, log);
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError || error instanceof WorkerStoppingError) throw error;
      if (isConnectionError(error) && token) {
        log.warn('job_postponed_postgres_unreachable', { error });
        await job.moveToDelayed(Date.now() + INFRASTRUCTURE_RETRY_MS, token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  async function run(job: Job<JobMessage>, id: string, token: string | undefined, signal: AbortSignal, began: number, log: Logger) {
    const outcome = await lifecycle.start(id);
    if (outcome.kind === 'missing' || outcome.kind === 'finished') {
      log.info('job_skipped', { reason: outcome.kind, status: outcome.kind === 'finished' ? outcome.job.status : undefined });
      return { skipped: outcome.kind };
    }
    if (outcome.kind === 'cancel_requested') {
      await cancellation.end(id);
      metrics.processed.inc({ type: outcome.job.type, outcome: 'cancelled' });
      log.info('job_cancelled', { before_attempt: outcome.job.attempts + 1 });
      return { cancelled: true };
    }
    if (outcome.kind === 'exhausted') {
      const message = `attempt ${outcome.job.attempts} did not finish (the worker stopped or lost the job) and no attempts are left`;
      await lifecycle.fail(id, outcome.job.attempts, outcome.job.max_attempts, message);
      metrics.processed.inc({ type: outcome.job.type, outcome: 'failed' });
      log.warn('job_failed', { attempt: outcome.job.attempts, error: message });
      throw new UnrecoverableError(message);
    }

    const row = outcome.job;
    const attemptLog = log.child({ attempt: row.attempts, max_attempts: row.max_attempts });
    const handler = deps.handlers.get(row.type);
    const validation = validateJobPayload(deps.catalog, row.type, row.payload);
    if (!validation.ok || !handler) {
      const message = !validation.ok ? validation.message : `no handler for job type "${row.type}" in this worker`;
      return failFinally(row, message, began, attemptLog);
    }

    const progress = new ProgressReporter(
      (value) => lifecycle.progress(id, value),
      deps.progressIntervalMs,
      () => cancellation.abort(id),
      attemptLog,
    );
    let result: unknown;
    let failure: unknown;
    running += 1;
    try {
      // A cancel heard while the start was written aborted the signal already: skip the handler.
      if (signal.aborted) throw signal.reason;
      attemptLog.info('attempt_started');
      result = await (handler as JobHandler<Record<string, unknown>>)({
        payload: validation.payload,
        job: row,
        sql: deps.sql,
        reportProgress: (value) => progress.report(value),
        signal,
        log: attemptLog,
      });
    } catch (error) {
      failure = error instanceof Error ? error : new Error(errorText(error));
    } finally {
      running -= 1;
      await progress.close();
    }

    const aborted = cancellation.abortedBy(signal);
    if (aborted === 'stop') {
      attemptLog.warn('attempt_interrupted', { reason: 'shutdown_timeout' });
      throw new WorkerStoppingError();
    }
    if (aborted === 'cancel') {
      await cancellation.end(id);
      metrics.processed.inc({ type: row.type, outcome: 'cancelled' });
      finish(row.type, 'cancelled', began);
      attemptLog.info('job_cancelled');
      return { cancelled: true };
    }
    if (failure === undefined) {
      let moved: boolean;
      try {
        moved = await lifecycle.succeed(id, result);
      } catch (error) {
        if (isConnectionError(error)) throw error;
        // Refused before the write (UnstorableResultError), or the row's own write failed
        // once split from its batch: either way this job's result, not the batch, is at fault.
        const message = error instanceof UnstorableResultError ? error.message : `the job's result could not be stored: ${errorText(error)}`;
        attemptLog.warn('job_result_unstorable', { error: message });
        return failFinally(row, message, began, attemptLog);
      }
      metrics.processed.inc({ type: row.type, outcome: 'succeeded' });
      finish(row.type, 'succeeded', began);
      attemptLog.info('job_succeeded', { duration_ms: Math.round(performance.now() - began), row_moved: moved });
      return { succeeded: true };
    }

    metrics.attemptsFailed.inc({ type: row.type });
    const message = errorText(failure);
    const final = row.attempts >= row.max_attempts || failure instanceof UnrecoverableError;
    if (final || !token) return failFinally(row, message, began, attemptLog, failure);

    await lifecycle.attemptFailed(id, row.attempts, row.max_attempts, message);
    const delay = retryDelay(row.attempts, deps.backoff);
    metrics.retried.inc({ type: row.type });
    finish(row.type, 'retried', began);
    attemptLog.warn('attempt_failed', { error: message, retry_in_ms: delay });
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  }

  async function failFinally(row: JobRow, message: string, began: number, log: Logger, cause?: unknown): Promise<never> {
    try {
      await lifecycle.fail(row.id, row.attempts, row.max_attempts, message);
    } catch (error) {
      // This row's write failed on its own (the line is normalized, so a trigger or a
      // constraint refused it): say so, and still end the BullMQ job as failed, once.
      if (isConnectionError(error)) throw error;
      log.error('status_write_failed', { transition: 'fail', error });
    }
    metrics.processed.inc({ type: row.type, outcome: 'failed' });
    finish(row.type, 'failed', began);
    log.warn('job_failed', { error: message });
    const final = new UnrecoverableError(message);
    if (cause instanceof Error && cause.stack) final.stack = cause.stack;
    throw final;
  }

  return {
    process,
    /** Handlers running in this process right now. */
    activeCount: () => running,
  };
}

export type Processor = ReturnType<typeof createProcessor>;
