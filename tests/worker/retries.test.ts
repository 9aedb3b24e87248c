/**
 * Retries with backoff, final failure into BullMQ's failed set (the dead-letter set),
 * retry_job from there as a new run, and the guarantee that late or duplicate status
 * writes never move a row backwards.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { withRls } from '../../core/db/rls.ts';
import { JobLifecycle } from '../../worker/src/lifecycle.ts';
import type { RunningWorker } from '../../worker/src/worker.ts';
import type { Sql } from '../harness/db.ts';
import { createProject, insertJob, jobEvents, readJob, waitFor, waitForStatus, useWorkerFixture } from './helpers.ts';

const fixture = useWorkerFixture({ backoffBaseMs: 300, backoffMaxMs: 600 });
let sql: Sql;
let worker: RunningWorker;
beforeAll(() => ({ sql, worker } = fixture));

describe('retries', () => {
  it('retries failed attempts after a backoff in BullMQ’s delayed set, keeping each attempt’s error', async () => {
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 5, fail_times: 2 }, { maxAttempts: 3 });

    // Between attempts the row stays running (a run never goes back) and BullMQ holds
    // the job in its delayed set until the backoff has passed.
    await waitFor(async () => (await readJob(sql, id)).error !== null, 'first attempt to fail');
    expect(await worker.queue.getJobState(id)).toBe('delayed');
    expect((await readJob(sql, id)).status).toBe('running');

    const row = await waitForStatus(sql, id, ['succeeded', 'failed']);
    expect(row.status).toBe('succeeded');
    expect(row.attempts).toBe(3);
    expect(row.error?.split('\n')).toEqual([
      'attempt 1/3: diagnostic failure on attempt 1 (fail_times = 2)',
      'attempt 2/3: diagnostic failure on attempt 2 (fail_times = 2)',
    ]);
    const events = await jobEvents(sql, id);
    const statuses = events.map((event) => event.status);
    expect(statuses.lastIndexOf('queued')).toBe(0); // the insert; a retry never requeues the row
    const attemptsSeen = [...new Set(events.filter((e) => e.status === 'running').map((e) => e.attempts))];
    expect(attemptsSeen).toEqual([1, 2, 3]);
  });

  it('fails for good after max_attempts, leaves the job in the dead-letter set, and retry_job runs it again', async () => {
    const { projectId, owner } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 5, fail_times: 5 }, { maxAttempts: 2, createdBy: owner.id });
    const failed = await waitForStatus(sql, id, ['succeeded', 'failed']);
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toBe(2);
    expect(failed.error?.split('\n')).toHaveLength(2);
    expect(failed.error).toMatch(/attempt 2\/2: diagnostic failure on attempt 2/);
    // The row is written before the processor throws; BullMQ moves the job to its failed set after.
    const deadLetter = await waitFor(async () => {
      const job = await worker.queue.getJob(id);
      return (await job?.getState()) === 'failed' ? job : undefined;
    }, 'BullMQ to move the job to its failed set');
    expect(deadLetter?.failedReason).toMatch(/diagnostic failure on attempt 2/);
    const firstRunFinished = new Date(failed.finished_at!).getTime();

    await withRls(sql, owner.claims, (tx) => tx`select public.retry_job(${id})`);
    const rerun = await waitFor(async () => {
      const row = await readJob(sql, id);
      return row.status === 'failed' && new Date(row.finished_at!).getTime() > firstRunFinished ? row : undefined;
    }, 'the retried run to end');
    expect(rerun.attempts).toBe(2);
    expect(rerun.error?.split('\n')).toHaveLength(2); // a new run: the log started again
    const again = await worker.queue.getJob(id);
    expect(await again?.getState()).toBe('failed');
    expect(again!.timestamp).toBeGreaterThan(deadLetter!.timestamp); // a new BullMQ job, not the old one
    const statuses = (await jobEvents(sql, id)).map((event) => event.status);
    const firstFailure = statuses.indexOf('failed');
    expect(statuses.slice(firstFailure + 1, firstFailure + 3)).toEqual(['queued', 'running']);
  });
});

describe('late and duplicate writes', () => {
  it('cannot move a finished row backwards, however the writes arrive', async () => {
    const { projectId } = await createProject(sql);
    const lifecycle = new JobLifecycle(sql, { writeBatchMs: 0 });
    // Inserted as already running: the dispatcher enqueues only queued rows, and the
    // worker's start refuses a row that is final by then.
    const [inserted] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, type, payload, status, attempts, started_at)
      values (${projectId}, 'diagnostic.sleep', '{"ms": 1}', 'running', 1, now()) returning id`;
    const id = inserted!.id;
    expect(await lifecycle.progress(id, 40)).toEqual({ cancelRequested: false });
    expect(await lifecycle.succeed(id, { done: true })).toBe(true);
    const finished = await readJob(sql, id);
    const eventsBefore = (await jobEvents(sql, id)).length;

    // Duplicates and stragglers, in one batch and one by one.
    const outcomes = await Promise.all([
      lifecycle.succeed(id, { done: 'twice' }),
      lifecycle.progress(id, 10),
      lifecycle.attemptFailed(id, 1, 3, 'late error'),
      lifecycle.fail(id, 1, 3, 'late failure'),
    ]);
    expect(outcomes.slice(0, 1)).toEqual([false]);
    expect(outcomes.slice(2)).toEqual([false, false]);
    expect(await lifecycle.start(id)).toMatchObject({ kind: 'finished' });
    expect(await lifecycle.cancel(id)).toBe(false);

    // Even a raw UPDATE that skips the worker's conditions is refused by the trigger.
    await sql`update public.jobs set status = 'running', progress = 5, result = null where id = ${id}`;
    await sql`update public.jobs set status = 'succeeded', result = '{"done":"raw"}' where id = ${id}`;

    const after = await readJob(sql, id);
    expect(after).toEqual(finished);
    expect(await jobEvents(sql, id)).toHaveLength(eventsBefore);
  });

  it('keeps progress and attempts monotonic within a run', async () => {
    const { projectId } = await createProject(sql);
    const lifecycle = new JobLifecycle(sql, { writeBatchMs: 5 });
    const [inserted] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, type, payload, status, attempts, started_at)
      values (${projectId}, 'diagnostic.sleep', '{"ms": 1}', 'running', 2, now()) returning id`;
    const id = inserted!.id;
    await Promise.all([lifecycle.progress(id, 70), lifecycle.progress(id, 30)]);
    await lifecycle.progress(id, 50);
    await sql`update public.jobs set attempts = 1, progress = 20 where id = ${id}`;
    const row = await readJob(sql, id);
    expect(row.progress).toBe(70);
    expect(row.attempts).toBe(2);
  });
});
