/**
 * Cancellation — the one module that acts on a job's cancel request.
 *
 * A cancel is requested in SQL: `cancel_job()` sets `cancel_requested_at` (a queued row
 * becomes `cancelled` there and then) and the jobs trigger NOTIFYs `tandem_jobs` with
 * `{"op":"cancel"}` (supabase/migrations/20261125000600_jobs_write_path.sql). Every
 * worker LISTENs on that channel, so every worker hears every cancel, and each one
 * settles the job from where it stands (`heard`):
 *
 *   the job runs in this worker     → aborted           BullMQ's worker.cancelJob(id)
 *                                                       aborts the handler's signal; the
 *                                                       attempt then ends `cancelled`
 *   active in BullMQ, not here      → active_elsewhere  nothing: the worker running it
 *                                                       heard the same notification
 *   waiting or delayed in BullMQ    → cancelled         removed from BullMQ, row `cancelled`
 *                                     (became_active    when it left that set meanwhile:
 *                                                       its start sees the request)
 *   not in BullMQ, or finished there→ cancelled         row `cancelled` (queued or running)
 *   no request, or row already over → not_requested, removed, already_final
 *
 * The same request reaches a job by three more paths, for when no notification reached
 * the worker that holds it (its LISTEN was being rebuilt):
 *
 *   start     lifecycle.start refuses a row with a request; the processor ends it
 *             `cancelled` (`end`) before any handler runs
 *   progress  a progress write answers that cancel was requested → `abort`
 *   sweep     a running row with a request whose job is not active → `heard`
 *
 * No request falls between BullMQ taking a job and the handler running: BullMQ tracks
 * the job (so cancelJob reaches it) before it calls the processor, and the processor's
 * start write comes after that. A request committed before the start write is refused by
 * it; one committed after it finds the job tracked. The processor checks the signal again
 * after the start, so a request in that gap never runs the handler.
 *
 * Shutdown uses the same signal with another reason (`abortAll` → STOPPING): the
 * attempt writes nothing and is left to BullMQ's stalled-job recovery.
 */
import type { Worker } from 'bullmq';
import type { Logger } from '../../core/log.ts';
import type { JobQueue } from '../../core/queue.ts';
import type { Sql } from './db.ts';
import type { JobLifecycle } from './lifecycle.ts';

/** The abort reason of an attempt whose cancel was requested (BullMQ passes it to the signal). */
export const CANCELLED = 'job cancelled';
/** The abort reason of the attempts still running when the shutdown timeout ends. */
export const STOPPING = 'the worker stopped before this attempt finished';

/** What `heard` did with a request, as the dispatcher's and sweeper's metrics name it. */
export type CancelAction = 'aborted' | 'not_requested' | 'active_elsewhere' | 'became_active' | 'cancelled' | 'removed' | 'already_final';

export interface CancellationDeps {
  sql: Sql;
  queue: JobQueue;
  lifecycle: JobLifecycle;
  log: Logger;
}

/** The part of BullMQ's Worker that aborts the jobs it runs. */
export type AbortingWorker = Pick<Worker, 'cancelJob' | 'cancelAllJobs'>;

/**
 * Creates the cancellation of one worker; `attach` it to that worker's BullMQ Worker
 * before it runs jobs.
 *
 * @example
 * const cancellation = createCancellation({ sql, queue, lifecycle, log });
 * cancellation.attach(new Worker(JOBS_QUEUE, processor.process, { connection }));
 * await cancellation.heard(jobId); // 'aborted' where it runs, 'active_elsewhere' in other workers
 */
export function createCancellation(deps: CancellationDeps) {
  const { sql, queue, lifecycle } = deps;
  let worker: AbortingWorker | undefined;

  /** Aborts the job's attempt when this worker runs it; false when it does not (a no-op then). */
  const abort = (id: string): boolean => worker?.cancelJob(id, CANCELLED) ?? false;

  return {
    attach(bullWorker: AbortingWorker): void {
      worker = bullWorker;
    },

    /** A cancel request was heard (notification or sweep): settles the job from where it stands. */
    async heard(id: string): Promise<CancelAction> {
      if (abort(id)) return 'aborted';
      const [row] = await sql<{ status: string; cancel_requested: boolean }[]>`
        select status, cancel_requested_at is not null as cancel_requested from public.jobs where id = ${id}`;
      if (!row || !row.cancel_requested) return 'not_requested';
      const state = await queue.getJobState(id);
      if (state === 'active') return 'active_elsewhere';
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        // 0 when it just became active (here or elsewhere): its start then sees the request.
        const removed = await queue.remove(id);
        if (!removed) return 'became_active';
      }
      if (row.status === 'queued' || row.status === 'running') {
        return (await lifecycle.cancel(id)) ? 'cancelled' : 'already_final';
      }
      return state === 'unknown' || state === 'completed' || state === 'failed' ? 'already_final' : 'removed';
    },

    abort,

    /** Aborts every attempt this worker runs because it stops (the shutdown timeout ended). */
    abortAll(): void {
      worker?.cancelAllJobs(STOPPING);
    },

    /** Why an attempt's signal was aborted: its cancel, the worker stopping, or neither. */
    abortedBy(signal: AbortSignal): 'cancel' | 'stop' | undefined {
      if (!signal.aborted) return undefined;
      return signal.reason === CANCELLED ? 'cancel' : signal.reason === STOPPING ? 'stop' : undefined;
    },

    /** Ends a row `cancelled` whose attempt was refused at start or aborted by its cancel. */
    end(id: string): Promise<boolean> {
      return lifecycle.cancel(id);
    },
  };
}

export type Cancellation = ReturnType<typeof createCancellation>;
