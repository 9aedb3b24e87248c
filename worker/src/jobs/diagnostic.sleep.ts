/**
 * `diagnostic.sleep`: sleeps `ms` in ten steps (one below 10 ms, none at 0), reporting
 * progress after each, and fails the run's first `fail_times` attempts — a way to watch
 * retries, progress and cancel.
 */
import { sleep, type JobHandler } from './types.ts';

export const diagnosticSleepHandler: JobHandler<{ ms: number; fail_times: number }> = async ({ payload, job, reportProgress, signal }) => {
  // `ms: 0` is a true no-op (the benchmark's unit of work): no sleep, no progress.
  const steps = payload.ms === 0 ? 0 : payload.ms >= 10 ? 10 : 1;
  for (let step = 1; step <= steps; step++) {
    await sleep(payload.ms / steps, signal);
    reportProgress(Math.floor((step * 100) / steps));
  }
  if (job.attempts <= payload.fail_times) {
    throw new Error(`diagnostic failure on attempt ${job.attempts} (fail_times = ${payload.fail_times})`);
  }
  return { slept_ms: payload.ms, attempt: job.attempts };
};
