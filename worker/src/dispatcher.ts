/**
 * Turns `tandem_jobs` notifications into queue actions, so a row inserted or retried by
 * any path (the jobs function, supabase-js, plain SQL) runs at once, and a cancel reaches
 * the job wherever it is:
 *
 *   insert, retry  → enqueue the row if it is queued (a leftover BullMQ job of an earlier
 *                    run is replaced; a live one is left alone — jobId = row id)
 *   cancel         → worker/src/cancellation.ts settles it (every worker hears the
 *                    notification: the one running the job aborts it; a job not running
 *                    leaves BullMQ and its row ends `cancelled`)
 *
 * Inserts and retries arriving together are looked up with one query, and new rows are
 * added to BullMQ with one addBulk.
 */
import type { Logger } from '../../core/log.ts';
import { enqueueJob, jobOptionsFor, type JobQueue } from '../../core/queue.ts';
import { Batcher } from './batcher.ts';
import type { Cancellation } from './cancellation.ts';
import type { Sql } from './db.ts';
import type { WorkerMetrics } from './metrics.ts';
import { isUuid } from '../../core/uuid.ts';

export interface JobNotification {
  op: 'insert' | 'retry' | 'cancel';
  id: string;
}

/**
 * Parses a `tandem_jobs` payload; null when it is not one.
 *
 * @example
 * parseJobNotification('{"op":"insert","id":"…uuid…"}') // { op: 'insert', id: '…' }
 */
export function parseJobNotification(payload: string): JobNotification | null {
  try {
    const value = JSON.parse(payload) as Partial<JobNotification>;
    if ((value.op === 'insert' || value.op === 'retry' || value.op === 'cancel') && isUuid(value.id)) {
      return { op: value.op, id: value.id };
    }
  } catch {
    // fall through
  }
  return null;
}

export interface DispatcherDeps {
  sql: Sql;
  queue: JobQueue;
  cancellation: Cancellation;
  metrics: WorkerMetrics;
  log: Logger;
}

/**
 * Creates the dispatcher; feed it notifications with `handle`.
 *
 * @example
 * const dispatcher = createDispatcher(deps);
 * await listenSupervised({ ...listenOptions, channel: 'tandem_jobs', onNotify: (payload) => dispatcher.handle(payload) });
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { sql, queue, metrics, log } = deps;
  const pending = new Set<Promise<unknown>>();

  const enqueues = new Batcher<{ op: 'insert' | 'retry'; id: string }, void>(
    async (items) => {
      const rows = await sql<{ id: string; type: string }[]>`
        select id, type from public.jobs where id = any(${items.map((item) => item.id)}::uuid[]) and status = 'queued'`;
      const queued = new Map(rows.map((row) => [row.id, row]));
      const inserted = items.filter((item) => item.op === 'insert' && queued.has(item.id));
      const retried = items.filter((item) => item.op === 'retry' && queued.has(item.id));
      for (const item of items) if (!queued.has(item.id)) metrics.dispatcher.inc({ op: item.op, action: 'not_queued' });
      // A new row has no earlier BullMQ job to replace: one addBulk for all of them (a
      // job the jobs function already added is kept — jobId = row id). A retried row's
      // leftover job of the earlier run is replaced by enqueueJob.
      if (inserted.length > 0) {
        try {
          await queue.addBulk(
            inserted.map(({ id }) => {
              const row = queued.get(id)!;
              return { name: row.type, data: { id: row.id }, opts: jobOptionsFor(row) };
            }),
          );
          metrics.dispatcher.inc({ op: 'insert', action: 'enqueued' }, inserted.length);
        } catch (error) {
          // The sweeper enqueues them once Redis answers again.
          metrics.dispatcher.inc({ op: 'insert', action: 'enqueue_failed' }, inserted.length);
          log.warn('dispatch_enqueue_failed', { jobs: inserted.length, op: 'insert', error });
        }
      }
      await Promise.all(
        retried.map(async ({ id }) => {
          try {
            await enqueueJob(queue, queued.get(id)!);
            metrics.dispatcher.inc({ op: 'retry', action: 'enqueued' });
          } catch (error) {
            metrics.dispatcher.inc({ op: 'retry', action: 'enqueue_failed' });
            log.warn('dispatch_enqueue_failed', { job_id: id, op: 'retry', error });
          }
        }),
      );
      return items.map(() => undefined);
    },
    { windowMs: 2 },
  );

  async function dispatch(note: JobNotification): Promise<void> {
    if (note.op === 'cancel') {
      try {
        const action = await deps.cancellation.heard(note.id);
        metrics.dispatcher.inc({ op: 'cancel', action });
        log.info('dispatch_cancel', { job_id: note.id, action });
      } catch (error) {
        metrics.dispatcher.inc({ op: 'cancel', action: 'error' });
        log.warn('dispatch_cancel_failed', { job_id: note.id, error });
      }
      return;
    }
    await enqueues.submit({ op: note.op, id: note.id });
  }

  return {
    /** Handles one raw `tandem_jobs` payload (never throws). */
    handle(payload: string): void {
      const note = parseJobNotification(payload);
      if (!note) {
        metrics.dispatcher.inc({ op: 'unknown', action: 'ignored' });
        log.warn('dispatch_ignored_payload', { payload: payload.slice(0, 200) });
        return;
      }
      const work = dispatch(note).catch((error: unknown) => {
        metrics.dispatcher.inc({ op: note.op, action: 'error' });
        log.warn('dispatch_failed', { job_id: note.id, op: note.op, error });
      });
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
    /** Waits for the notifications being handled. */
    async drain(): Promise<void> {
      await Promise.allSettled([...pending]);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
