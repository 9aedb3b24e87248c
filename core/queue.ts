/**
 * The BullMQ queue contract shared by the `jobs` function (enqueues at submission) and the
 * worker (dispatcher, sweeper and processor):
 *
 *   queue name  `tandem-jobs`, BullMQ key prefix TANDEM_REDIS_PREFIX (`{tandem}`: core/redis/keys.ts),
 *               so every key of the queue is in one Redis Cluster slot
 *   job name    the job type (`diagnostic.sleep`, ...)
 *   job data    `{ id: <jobs row id> }` — the worker reads everything else from Postgres
 *   job id      the row id, so enqueueing the same row twice is harmless
 *
 * Attempts and backoff are the worker's business (it follows the row's max_attempts), and
 * so is how long finished jobs stay in BullMQ (see jobOptionsFor).
 * bullmq is imported lazily, so a function that never enqueues never pays for loading it.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { RedisClient } from './redis/connection.ts';
import type { RedisKeyLayout } from './redis/keys.ts';

/** Name of the BullMQ queue that carries Tandem's jobs. */
export const JOBS_QUEUE = 'tandem-jobs';

/** What a queued BullMQ job carries: only the row id. */
export interface JobMessage {
  id: string;
}

/** The part of a `jobs` row that enqueueing needs. */
export interface QueueableJob {
  id: string;
  type: string;
}

/** A jobs queue: the BullMQ Queue over `JobMessage`. */
export type JobQueue = Queue<JobMessage, unknown, string>;

/**
 * Opens the jobs queue on an ioredis client (a `Redis` or a `Cluster`: core/redis/connection.ts)
 * under the key layout's prefix. Close it with `queue.close()` (the client stays open).
 * Connection errors go to `onError` (they also reject the calls they affect), never to an
 * unhandled 'error' event.
 *
 * @example
 * const queue = await openJobQueue(redis, { keys, onError: (e) => log.warn('queue_error', { error: e }) });
 * await enqueueJob(queue, { id: row.id, type: row.type });
 * await queue.close();
 */
export async function openJobQueue(
  connection: RedisClient,
  options: { keys: RedisKeyLayout; onError?: (error: Error) => void },
): Promise<JobQueue> {
  const { Queue } = await import('bullmq');
  const queue: JobQueue = new Queue<JobMessage, unknown, string>(JOBS_QUEUE, { connection, prefix: options.keys.bullPrefix });
  queue.on('error', options.onError ?? (() => undefined));
  return queue;
}

/**
 * BullMQ options of the job for a row: only `jobId` = row id. How long finished jobs stay
 * in BullMQ is the worker's setting (`removeOnComplete` / `removeOnFail` of its BullMQ
 * Worker: TANDEM_WORKER_KEEP_COMPLETED, TANDEM_WORKER_DEAD_LETTER_SECONDS), which BullMQ
 * applies only to a job that carries none of its own.
 *
 * @example
 * await queue.add(row.type, { id: row.id }, jobOptionsFor(row));
 */
export function jobOptionsFor(row: QueueableJob): JobsOptions {
  return { jobId: row.id };
}

/**
 * Enqueues a queued `jobs` row. A BullMQ job left over from an earlier run of the same
 * row (completed or failed, e.g. before `retry_job`) is removed first, so the new run is
 * not swallowed by BullMQ's duplicate-id rule; a job that is still waiting, delayed or
 * active is left alone.
 *
 * @example
 * await enqueueJob(queue, { id: row.id, type: row.type });
 */
export async function enqueueJob(queue: JobQueue, row: QueueableJob): Promise<void> {
  const previous = await queue.getJob(row.id);
  if (previous) {
    const state = await previous.getState();
    if (state === 'completed' || state === 'failed') await previous.remove();
  }
  await enqueueNewJob(queue, row);
}

/**
 * Enqueues a row that was just inserted: its id is new, so no earlier BullMQ job can
 * stand in the way and one command suffices (`enqueueJob` first looks for a leftover).
 *
 * @example
 * await enqueueNewJob(queue, { id: inserted.id, type: inserted.type });
 */
export async function enqueueNewJob(queue: JobQueue, row: QueueableJob): Promise<void> {
  await queue.add(row.type, { id: row.id }, jobOptionsFor(row));
}
