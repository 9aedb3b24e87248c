/**
 * Retention: finished jobs older than the configured age are deleted (unfinished and
 * recent ones stay), final failures leave BullMQ's failed set after their age, and
 * BullMQ keeps TANDEM_WORKER_KEEP_COMPLETED completed jobs, whichever path enqueued them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { enqueueNewJob } from '../../core/queue.ts';
import type { RunningWorker } from '../../worker/src/worker.ts';
import type { Sql } from '../harness/db.ts';
import { createProject, insertJob, waitFor, waitForStatus, useWorkerFixture } from './helpers.ts';

const fixture = useWorkerFixture({ retentionSeconds: 3600, deadLetterSeconds: 1, keepCompleted: 2 });
let sql: Sql;
let worker: RunningWorker;
beforeAll(() => ({ sql, worker } = fixture));

describe('retention', () => {
  it('deletes finished jobs older than the retention age, and only those', async () => {
    const { projectId } = await createProject(sql);
    // Rows are inserted already finished: the transition guard (rightly) refuses to
    // backdate a finished row.
    const rows = await sql<{ id: string; label: string }[]>`
      insert into public.jobs (project_id, type, payload, status, attempts, started_at, finished_at)
      values
        (${projectId}, 'project.stats', '{}', 'succeeded', 1, now() - interval '3 hours', now() - interval '2 hours'),
        (${projectId}, 'project.stats', '{}', 'failed',    3, now() - interval '3 hours', now() - interval '2 hours'),
        (${projectId}, 'project.stats', '{}', 'cancelled', 1, now() - interval '3 hours', now() - interval '2 hours'),
        (${projectId}, 'project.stats', '{}', 'succeeded', 1, now() - interval '20 minutes', now() - interval '10 minutes')
      returning id, status::text as label`;
    const old = rows.slice(0, 3).map((row) => row.id);
    const recent = rows[3]!.id;
    const unfinished = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 });
    await waitForStatus(sql, unfinished, ['succeeded']);

    const report = await worker.sweeper.sweep();
    expect(report.deleted).toBeGreaterThanOrEqual(3);
    const left = await sql<{ id: string }[]>`select id from public.jobs where project_id = ${projectId}`;
    const ids = left.map((row) => row.id);
    for (const id of old) expect(ids).not.toContain(id);
    expect(ids).toContain(recent);
    expect(ids).toContain(unfinished);
  });

  it('trims the dead-letter set after its age', async () => {
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1, fail_times: 1 }, { maxAttempts: 1 });
    await waitForStatus(sql, id, ['failed']);
    expect(await worker.queue.getJobState(id)).toBe('failed');
    await waitFor(async () => {
      await worker.sweeper.sweep();
      return (await worker.queue.getJobState(id)) === 'unknown';
    }, 'the failed job to leave the dead-letter set', 10_000);
    expect((await sql`select status from public.jobs where id = ${id}`)[0]).toMatchObject({ status: 'failed' });
  });

  it('keeps the configured number of completed BullMQ jobs, for jobs the dispatcher and the jobs function enqueue', async () => {
    const { projectId } = await createProject(sql);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 0 }));
    // As the jobs function does: mark the insert (no NOTIFY) and enqueue it itself.
    const [row] = await sql.begin(async (tx) => {
      await tx`select set_config('tandem.job_enqueued_by_caller', 'on', true)`;
      return tx<{ id: string; type: string }[]>`
        insert into public.jobs (project_id, type, payload) values (${projectId}, 'diagnostic.sleep', '{"ms": 0}') returning id, type`;
    });
    await enqueueNewJob(worker.queue, row!);
    ids.push(row!.id);
    for (const id of ids) await waitForStatus(sql, id, ['succeeded']);
    await waitFor(async () => (await worker.queue.getJobCounts('active')).active === 0, 'BullMQ to finish the jobs');
    expect(await worker.queue.getCompletedCount()).toBe(2);
  });
});
