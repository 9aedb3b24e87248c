/**
 * Cancellation (worker/src/cancellation.ts), one test per path a request takes:
 * with two workers on one queue, each aborts the job it runs on hearing the notification
 * on its own LISTEN (BullMQ's worker.cancelJob; no progress reply in between to help);
 * and for a request no notification carried, the start refuses it, a progress reply
 * aborts it, and the sweeper ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRls } from '../../core/db/rls.ts';
import { jobOptionsFor } from '../../core/queue.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import type { Sql } from '../harness/db.ts';
import { createProject, insertJob, quietLog, readJob, testConfig, usePrivateDatabase, waitFor, waitForStatus } from './helpers.ts';

const db = usePrivateDatabase();
let sql: Sql;
beforeAll(() => ({ sql } = db));

/** Starts workers on this file's database; they are stopped after the enclosing describe. */
function useWorkers(count: number, overrides: Parameters<typeof testConfig>[1]): RunningWorker[] {
  const workers: RunningWorker[] = [];
  beforeAll(async () => {
    const first = testConfig(db.url, overrides);
    for (let i = 0; i < count; i++) {
      // One queue (prefix) for all of them, as several worker processes share one in production.
      workers.push(await startWorker({ ...testConfig(db.url, overrides), redisPrefix: first.redisPrefix }, { log: quietLog }));
    }
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
  });
  return workers;
}

async function cancelAction(worker: RunningWorker, action: string): Promise<number> {
  const metric = await worker.metrics.dispatcher.get();
  return metric.values.find((value) => value.labels.op === 'cancel' && value.labels.action === action)?.value ?? 0;
}

/** Sets cancel_requested_at with no tandem_jobs notification (as if every LISTEN had been down). */
async function requestCancelSilently(id: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`alter table public.jobs disable trigger jobs_announce_update`;
    await tx`update public.jobs set cancel_requested_at = now() where id = ${id}`;
    await tx`alter table public.jobs enable trigger jobs_announce_update`;
  });
}

describe('several workers', () => {
  // One job each; the first progress write comes only after a minute (600 s in ten
  // steps), so nothing but the notification can tell a worker its job was cancelled.
  const workers = useWorkers(2, { concurrency: 1, progressIntervalMs: 60_000, sweepIntervalMs: 3_600_000 });

  it('every worker hears a cancel: the one running the job aborts it, wherever it runs', async () => {
    const { projectId, owner } = await createProject(sql);
    const ids = [
      await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 600_000 }, { createdBy: owner.id }),
      await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 600_000 }, { createdBy: owner.id }),
    ];
    await waitFor(async () => {
      const busy = await Promise.all(workers.map(async (worker) => (await worker.health()).active_jobs));
      return busy.every((n) => n === 1);
    }, 'each worker to run one of the jobs');

    for (const id of ids) await withRls(sql, owner.claims, (tx) => tx`select public.cancel_job(${id})`);
    for (const id of ids) {
      const row = await waitForStatus(sql, id, ['cancelled', 'succeeded', 'failed'], 10_000);
      expect(row).toMatchObject({ status: 'cancelled', attempts: 1, progress: 0 });
    }
    // Each worker aborted its own job through its own notification.
    for (const worker of workers) expect(await cancelAction(worker, 'aborted')).toBe(1);
    await waitFor(async () => (await Promise.all(workers.map(async (w) => (await w.health()).active_jobs))).every((n) => n === 0), 'both workers to be free');
  });

  it('a request the start finds: the job becomes active but no attempt runs', async () => {
    const { projectId } = await createProject(sql);
    // A run waiting for its second attempt whose cancel notification was missed.
    const [row] = await sql<{ id: string; type: string }[]>`
      insert into public.jobs (project_id, type, payload, status, attempts, started_at, cancel_requested_at)
      values (${projectId}, 'diagnostic.sleep', '{"ms": 1}', 'running', 1, now(), now())
      returning id, type`;
    await workers[0]!.queue.add(row!.type, { id: row!.id }, jobOptionsFor(row!));
    const done = await waitForStatus(sql, row!.id, ['cancelled', 'succeeded', 'failed'], 10_000);
    expect(done).toMatchObject({ status: 'cancelled', attempts: 1, progress: 0 });
  });
});

describe('a request no notification carried', () => {
  const workers = useWorkers(1, { progressIntervalMs: 20, sweepIntervalMs: 3_600_000 });

  it('is heard on the next progress reply, which aborts the running attempt', async () => {
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 5000 });
    await waitFor(async () => (await readJob(sql, id)).progress > 0, 'the job to report progress');
    await requestCancelSilently(id);
    const row = await waitForStatus(sql, id, ['cancelled', 'succeeded', 'failed'], 10_000);
    expect(row.status).toBe('cancelled');
    expect(row.progress).toBeLessThan(100);
    expect(await cancelAction(workers[0]!, 'aborted')).toBe(0);
  });

  it('is settled by the sweeper when the job is not in BullMQ', async () => {
    const { projectId } = await createProject(sql);
    const [row] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, type, payload, status, attempts, started_at, cancel_requested_at)
      values (${projectId}, 'diagnostic.sleep', '{"ms": 1}', 'running', 1, now(), now())
      returning id`;
    const report = await workers[0]!.sweeper.sweep();
    expect(report.cancelled).toBe(1);
    expect(await readJob(sql, row!.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });
});
