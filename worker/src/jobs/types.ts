/**
 * What a job handler is: an async function of the validated payload and a context. The
 * payload schema lives in core/jobs/<type>.ts; the handler in
 * worker/src/jobs/<type>.ts.
 */
import type { Logger } from '../../../core/log.ts';
import type { Sql } from '../db.ts';
import type { JobRow } from '../../../core/jobs/row.ts';

export interface JobContext<Payload> {
  /** The payload, validated (and defaulted) by the type's schema. */
  payload: Payload;
  /** The jobs row as this attempt started it (`attempts` is this attempt's number). */
  job: JobRow;
  /** A privileged connection (bypasses RLS): scope every query to `job.project_id`. */
  sql: Sql;
  /** Reports progress (0-100); writes are throttled, so call it as often as you like. */
  reportProgress(progress: number): void;
  /** Aborted when the job is cancelled; stop early (throwing is fine). */
  signal: AbortSignal;
  log: Logger;
}

/** A handler returns the job's result (any JSON value, stored in jobs.result). */
export type JobHandler<Payload = Record<string, unknown>> = (context: JobContext<Payload>) => Promise<unknown>;

/**
 * Sleeps, waking early (with the signal's reason) when `signal` aborts.
 *
 * @example
 * await sleep(100, signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
