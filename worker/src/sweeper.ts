/**
 * The sweeper makes BullMQ agree with Postgres again, every `sweepIntervalMs` and
 * whenever the dispatcher may have missed notifications:
 *
 *   queued or running row, BullMQ job missing          → enqueue   (Redis was down at
 *                                                         submission, or lost its data)
 *   queued or running row, BullMQ job completed/failed → requeue   (a leftover of an
 *                                                         earlier run, or a run whose last
 *                                                         status write was lost)
 *   running row with cancel requested, not active      → cancel    (its notification
 *                                                         was missed: worker/src/cancellation.ts)
 *
 * A re-enqueued `running` row is not run blindly: its next start counts an attempt, and
 * when none is left the row fails. Before acting, the row is read again, so a job that
 * finished while the sweep looked at BullMQ is left alone.
 *
 * Retention runs with each sweep: finished rows older than `retentionSeconds` are
 * deleted, and BullMQ's failed set (the dead-letter set) is trimmed to
 * `deadLetterSeconds`.
 */
import type { Logger } from '../../core/log.ts';
import { enqueueJob, type JobQueue } from '../../core/queue.ts';
import type { Cancellation } from './cancellation.ts';
import type { Sql } from './db.ts';
import type { WorkerMetrics } from './metrics.ts';

const PAGE = 500;
const RETENTION_BATCH = 5000;

export interface SweeperDeps {
  sql: Sql;
  queue: JobQueue;
  cancellation: Cancellation;
  metrics: WorkerMetrics;
  log: Logger;
  retentionSeconds: number;
  deadLetterSeconds: number;
}

export interface SweepReport {
  checked: number;
  enqueued: number;
  requeued: number;
  cancelled: number;
  deleted: number;
}

/**
 * Creates the sweeper; `sweep()` runs one pass (concurrent calls share it).
 *
 * @example
 * const sweeper = createSweeper(deps);
 * const report = await sweeper.sweep(); // { checked, enqueued, requeued, cancelled, deleted }
 */
export function createSweeper(deps: SweeperDeps) {
  const { sql, queue, metrics, log } = deps;
  let running: Promise<SweepReport> | undefined;
  let next: Promise<SweepReport> | undefined;

  async function reconcileUnfinished(report: SweepReport): Promise<void> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await sql<{ id: string; type: string; status: string; cancel_requested: boolean }[]>`
        select id, type, status, cancel_requested_at is not null as cancel_requested
        from public.jobs where finished_at is null and status in ('queued', 'running') and id > ${after}
        order by id limit ${PAGE}`;
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.id;
      report.checked += rows.length;
      const states = await Promise.all(rows.map(async (row) => ({ row, state: await queue.getJobState(row.id) })));
      const cancels = states.filter(({ row, state }) => row.cancel_requested && row.status === 'running' && state !== 'active');
      for (const { row } of cancels) {
        const action = await deps.cancellation.heard(row.id);
        if (action === 'cancelled') {
          report.cancelled += 1;
          metrics.sweeper.inc({ action: 'cancelled' });
        }
      }
      const stale = states.filter(({ row, state }) => !row.cancel_requested && (state === 'unknown' || state === 'completed' || state === 'failed'));
      if (stale.length === 0) {
        if (rows.length < PAGE) return;
        continue;
      }
      const still = await sql<{ id: string; type: string }[]>`
        select id, type from public.jobs
        where id = any(${stale.map(({ row }) => row.id)}::uuid[]) and status in ('queued', 'running')`;
      const stillUnfinished = new Set(still.map((row) => row.id));
      for (const { row, state } of stale) {
        if (!stillUnfinished.has(row.id)) continue;
        await enqueueJob(queue, { id: row.id, type: row.type });
        const action = state === 'unknown' ? 'enqueued' : 'requeued';
        report[action] += 1;
        metrics.sweeper.inc({ action });
        log.info('sweeper_' + action, { job_id: row.id, status: row.status, bullmq_state: state });
      }
      if (rows.length < PAGE) return;
    }
  }

  async function applyRetention(report: SweepReport): Promise<void> {
    for (;;) {
      const deleted = await sql`
        delete from public.jobs where id in (
          select id from public.jobs
          where finished_at < now() - make_interval(secs => ${deps.retentionSeconds})
            and status in ('succeeded', 'failed', 'cancelled')
          limit ${RETENTION_BATCH})`;
      report.deleted += deleted.count;
      if (deleted.count > 0) metrics.sweeper.inc({ action: 'retention_deleted' }, deleted.count);
      if (deleted.count < RETENTION_BATCH) break;
    }
    const trimmed = await queue.clean(deps.deadLetterSeconds * 1000, 1000, 'failed');
    if (trimmed.length > 0) metrics.sweeper.inc({ action: 'dead_letter_trimmed' }, trimmed.length);
  }

  async function pass(): Promise<SweepReport> {
    const report: SweepReport = { checked: 0, enqueued: 0, requeued: 0, cancelled: 0, deleted: 0 };
    metrics.sweeper.inc({ action: 'run' });
    try {
      await reconcileUnfinished(report);
      await applyRetention(report);
    } catch (error) {
      metrics.sweeper.inc({ action: 'error' });
      log.warn('sweep_failed', { error });
    }
    if (report.enqueued + report.requeued + report.cancelled + report.deleted > 0) log.info('sweep_done', { ...report });
    return report;
  }

  return {
    /**
     * Runs a pass now, or — while one runs — the one after it (shared by every caller
     * meanwhile), so the report always covers what existed when `sweep()` was called.
     */
    sweep(): Promise<SweepReport> {
      if (!running) {
        running = pass().finally(() => {
          running = undefined;
        });
        return running;
      }
      next ??= running
        .catch(() => undefined)
        .then(() => {
          next = undefined;
          return this.sweep();
        });
      return next;
    },
    /** Resolves when no pass is running. */
    async idle(): Promise<void> {
      while (running || next) await (next ?? running)!.catch(() => undefined);
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
