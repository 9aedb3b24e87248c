/**
 * The job lifecycle in Postgres — the one module that writes a job's status.
 *
 *   queued ──start──► running ──succeed──► succeeded
 *                      │  ▲ └────fail─────► failed
 *                      │  └─attemptFailed (stays running until the next attempt starts)
 *                      └─────cancel───────► cancelled
 *   running ──progress──► running
 *
 * Every transition is one conditional UPDATE (`where status = <from>`), so a late or
 * duplicate write matches no row and changes nothing; the `jobs_guard_transition` trigger
 * refuses the same moves again as a second line of defence. Writes of the same transition
 * that arrive while the previous one runs (plus `writeBatchMs`, if set) share one
 * statement (the batch's ids and values as arrays), which keeps the per-job cost of
 * status tracking low under load without weakening any condition.
 *
 * One job's odd value never fails its neighbours' writes: results and error lines are
 * made storable before they join a batch (worker/src/storable.ts; a result jsonb cannot
 * hold is refused with UnstorableResultError), and a batched statement that fails anyway
 * is split until the row at fault is alone (worker/src/batcher.ts), so only that job's
 * write fails.
 *
 * Attempt errors: `error` is the run's attempt log — one line per failed attempt,
 * `attempt <n>/<max>: <message>`, newest last (the last line is the error that counts).
 * It is kept when a later attempt succeeds and reset by retry_job (a new run).
 */
import { Batcher } from './batcher.ts';
import { isConnectionError, retryOnConnectionLoss, type Sql } from './db.ts';
import { storableResult, storableText } from './storable.ts';
import { finalStatuses, type JobRow } from '../../core/jobs/row.ts';
import { isUuid } from '../../core/uuid.ts';

/** A result that jsonb cannot hold (see storableResult): the job must fail with this message. */
export class UnstorableResultError extends Error {
  override readonly name = 'UnstorableResultError';
}

/** The names of the transitions, as metrics and logs spell them. */
export type TransitionName = 'start' | 'progress' | 'attempt_failed' | 'succeed' | 'fail' | 'cancel';

/** What `start` found: a started attempt, or why there is nothing to run. */
export type StartOutcome =
  | { kind: 'started'; job: JobRow }
  | { kind: 'missing' }
  | { kind: 'finished'; job: JobRow }
  | { kind: 'cancel_requested'; job: JobRow }
  | { kind: 'exhausted'; job: JobRow };

const ERROR_LIMIT = 10_000;
const MESSAGE_LIMIT = 2000;

/**
 * One line of the attempt log (whitespace flattened, message clipped to 2000 characters).
 *
 * @example
 * attemptLogLine(2, 3, 'timeout\n  at fetch') // 'attempt 2/3: timeout at fetch'
 */
export function attemptLogLine(attempt: number, maxAttempts: number, message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim() || 'unknown error';
  const clipped = flat.length > MESSAGE_LIMIT ? `${flat.slice(0, MESSAGE_LIMIT - 1)}…` : flat;
  return storableText(`attempt ${attempt}/${maxAttempts}: ${clipped}`);
}

export interface LifecycleOptions {
  /** Extra wait to gather a batch (0: batches form from what arrives during a write). */
  writeBatchMs: number;
  /** How long a write keeps retrying while Postgres is unreachable. */
  connectionRetryMs?: number;
  onTransition?: (name: TransitionName, applied: number, requested: number) => void;
  onBatch?: (name: TransitionName, size: number) => void;
  onConnectionRetry?: (error: unknown) => void;
  /** A batched write failed for a reason other than the connection and is split to find the row at fault. */
  onWriteSplit?: (name: TransitionName, size: number, error: unknown) => void;
}

/**
 * Creates the status writer over a privileged connection.
 *
 * @example
 * const lifecycle = new JobLifecycle(sql, { writeBatchMs: 2 });
 * const outcome = await lifecycle.start(jobId);
 * if (outcome.kind === 'started') await lifecycle.succeed(jobId, { ok: true });
 */
export class JobLifecycle {
  private readonly starts: Batcher<string, StartOutcome>;
  private readonly progresses: Batcher<{ id: string; progress: number }, { cancelRequested: boolean }>;
  private readonly successes: Batcher<{ id: string; json: string }, boolean>;
  private readonly attemptFailures: Batcher<{ id: string; line: string }, boolean>;
  private readonly failures: Batcher<{ id: string; line: string }, boolean>;
  private readonly cancels: Batcher<string, boolean>;

  constructor(
    private readonly sql: Sql,
    private readonly options: LifecycleOptions,
  ) {
    const batcher = <I, R>(name: TransitionName, flush: (items: I[]) => Promise<R[]>) =>
      new Batcher<I, R>((items) => this.write(name, items.length, () => flush(items)), {
        windowMs: options.writeBatchMs,
        onBatch: (size) => options.onBatch?.(name, size),
        isolate: (error) => !isConnectionError(error),
        onSplit: (error, size) => options.onWriteSplit?.(name, size, error),
      });
    this.starts = batcher('start', (ids) => this.flushStarts(ids));
    this.progresses = batcher('progress', (items) => this.flushProgress(items));
    this.successes = batcher('succeed', (items) => this.flushSuccesses(items));
    this.attemptFailures = batcher('attempt_failed', (items) => this.flushErrors(items, 'running'));
    this.failures = batcher('fail', (items) => this.flushErrors(items, 'failed'));
    this.cancels = batcher('cancel', (ids) => this.flushCancels(ids));
  }

  /**
   * queued|running → running: the next attempt begins (`attempts + 1`, `started_at` set
   * on the first). Refused when the row is final, cancel was requested, or no attempt is
   * left; the outcome says which.
   */
  start(id: string): Promise<StartOutcome> {
    if (!isUuid(id)) return Promise.resolve({ kind: 'missing' });
    return this.starts.submit(id);
  }

  /** running → running with a higher `progress` (0-100); reports whether cancel was requested. */
  progress(id: string, progress: number): Promise<{ cancelRequested: boolean }> {
    const clamped = Math.max(0, Math.min(100, Math.round(progress)));
    return this.progresses.submit({ id, progress: clamped });
  }

  /**
   * running → succeeded with the handler's result. Returns whether the row moved; rejects
   * with UnstorableResultError, before anything is written, when jsonb cannot hold it.
   */
  succeed(id: string, result: unknown): Promise<boolean> {
    const storable = storableResult(result);
    if (!storable.ok) return Promise.reject(new UnstorableResultError(storable.reason));
    return this.successes.submit({ id, json: storable.json });
  }

  /** running → running: records a failed attempt that will be retried. */
  attemptFailed(id: string, attempt: number, maxAttempts: number, message: string): Promise<boolean> {
    return this.attemptFailures.submit({ id, line: attemptLogLine(attempt, maxAttempts, message) });
  }

  /** running → failed: the run is over (last attempt, or an error not worth retrying). */
  fail(id: string, attempt: number, maxAttempts: number, message: string): Promise<boolean> {
    return this.failures.submit({ id, line: attemptLogLine(attempt, maxAttempts, message) });
  }

  /** queued|running → cancelled, only for a row whose cancel was requested. */
  cancel(id: string): Promise<boolean> {
    if (!isUuid(id)) return Promise.resolve(false);
    return this.cancels.submit(id);
  }

  /** Waits for every write submitted so far. */
  async drain(): Promise<void> {
    await Promise.all(
      [this.starts, this.progresses, this.successes, this.attemptFailures, this.failures, this.cancels].map((b) => b.drain()),
    );
  }

  private async write<R>(name: TransitionName, requested: number, run: () => Promise<R[]>): Promise<R[]> {
    const results = await retryOnConnectionLoss(run, {
      maxWaitMs: this.options.connectionRetryMs ?? 30_000,
      onRetry: (error) => this.options.onConnectionRetry?.(error),
    });
    const applied = results.filter((r) => r === true || (typeof r === 'object' && r !== null && (r as { kind?: string }).kind === 'started')).length;
    this.options.onTransition?.(name, name === 'progress' ? requested : applied, requested);
    return results;
  }

  // Rows are matched with `id = any($ids)` so the primary key index is used whatever the
  // table's size; per-row values come in parallel arrays (unnest).

  private async flushStarts(ids: string[]): Promise<StartOutcome[]> {
    const rows = await this.sql<{ id: string; started: JobRow | null; current: JobRow | null }[]>`
      with started as (
        update public.jobs j
        set status = 'running', attempts = j.attempts + 1, started_at = coalesce(j.started_at, now())
        where j.id = any(${ids}::uuid[]) and j.status in ('queued', 'running') and j.cancel_requested_at is null
          and j.attempts < j.max_attempts
        returning j.*
      )
      select j.id, to_jsonb(s) as started, case when s.id is null then to_jsonb(j) end as current
      from public.jobs j left join started s on s.id = j.id
      where j.id = any(${ids}::uuid[])`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id): StartOutcome => {
      const row = byId.get(id);
      if (!row) return { kind: 'missing' };
      if (row.started) return { kind: 'started', job: row.started };
      const job = row.current!;
      if (finalStatuses.includes(job.status)) return { kind: 'finished', job };
      if (job.cancel_requested_at) return { kind: 'cancel_requested', job };
      return { kind: 'exhausted', job };
    });
  }

  private async flushProgress(items: { id: string; progress: number }[]): Promise<{ cancelRequested: boolean }[]> {
    const ids = items.map((item) => item.id);
    const rows = await this.sql<{ id: string; cancel_requested: boolean }[]>`
      with moved as (
        update public.jobs j set progress = v.progress
        from unnest(${ids}::uuid[], ${items.map((item) => item.progress)}::int[]) as v(id, progress)
        where j.id = any(${ids}::uuid[]) and j.id = v.id and j.status = 'running' and j.progress < v.progress
        returning j.id
      )
      select j.id, (j.cancel_requested_at is not null) as cancel_requested
      from public.jobs j where j.id = any(${ids}::uuid[])`;
    const byId = new Map(rows.map((row) => [row.id, row.cancel_requested]));
    return items.map((item) => ({ cancelRequested: byId.get(item.id) ?? false }));
  }

  private async flushSuccesses(items: { id: string; json: string }[]): Promise<boolean[]> {
    const ids = items.map((item) => item.id);
    const results = items.map((item) => item.json);
    const rows = await this.sql<{ id: string }[]>`
      update public.jobs j
      set status = 'succeeded', result = v.result::jsonb, progress = 100, finished_at = now()
      from unnest(${ids}::uuid[], ${results}::text[]) as v(id, result)
      where j.id = any(${ids}::uuid[]) and j.id = v.id and j.status = 'running'
      returning j.id`;
    const moved = new Set(rows.map((row) => row.id));
    return items.map((item) => moved.has(item.id));
  }

  private async flushErrors(items: { id: string; line: string }[], to: 'running' | 'failed'): Promise<boolean[]> {
    const ids = items.map((item) => item.id);
    const rows = await this.sql<{ id: string }[]>`
      update public.jobs j
      set status = ${to}::public.job_status,
          error = case
            when char_length(concat_ws(E'\\n', j.error, v.line)) > ${ERROR_LIMIT}
              then '…' || right(concat_ws(E'\\n', j.error, v.line), ${ERROR_LIMIT - 1})
            else concat_ws(E'\\n', j.error, v.line) end,
          finished_at = case when ${to} = 'failed' then now() else j.finished_at end
      from unnest(${ids}::uuid[], ${items.map((item) => item.line)}::text[]) as v(id, line)
      where j.id = any(${ids}::uuid[]) and j.id = v.id and j.status = 'running'
      returning j.id`;
    const moved = new Set(rows.map((row) => row.id));
    return items.map((item) => moved.has(item.id));
  }

  private async flushCancels(ids: string[]): Promise<boolean[]> {
    const rows = await this.sql<{ id: string }[]>`
      update public.jobs j
      set status = 'cancelled', finished_at = now()
      where j.id = any(${ids}::uuid[]) and j.status in ('queued', 'running') and j.cancel_requested_at is not null
      returning j.id`;
    const moved = new Set(rows.map((row) => row.id));
    return ids.map((id) => moved.has(id));
  }
}
