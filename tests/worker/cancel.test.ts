/**
 * cancel_job reaches the job wherever it is: waiting in BullMQ (removed, never runs),
 * active (its handler is aborted), or delayed between attempts; a cancelled job can be
 * retried as a new run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRls } from '../../core/db/rls.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import type { Sql, TestUser } from '../harness/db.ts';
import { privateDatabase } from '../harness/database.ts';
import { connect, createProject, insertJob, jobEvents, quietLog, readJob, testConfig, waitFor, waitForStatus } from './helpers.ts';

let db: Awaited<ReturnType<typeof privateDatabase>>;
let sql: Sql;
let worker: RunningWorker;

beforeAll(async () => {
  db = await privateDatabase();
  sql = connect(db.url);
  // One job at a time, so a second job waits; long backoff, so a retry waits in "delayed".
  worker = await startWorker(testConfig(db.url, { concurrency: 1, backoffBaseMs: 20_000, backoffMaxMs: 20_000 }), { log: quietLog });
});
afterAll(async () => {
  await worker?.stop();
  await sql?.end();
  await db?.drop();
});

const cancel = (user: TestUser, id: string) => withRls(sql, user.claims, (tx) => tx`select public.cancel_job(${id})`);
const retry = (user: TestUser, id: string) => withRls(sql, user.claims, (tx) => tx`select public.retry_job(${id})`);

describe('cancel', () => {
  it('removes a waiting job and aborts an active one; a cancelled job can be retried', async () => {
    const { projectId, owner } = await createProject(sql);
    const active = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 20_000 }, { createdBy: owner.id });
    await waitFor(async () => (await worker.queue.getJobState(active)) === 'active' && (await readJob(sql, active)).status === 'running', 'the first job to run');
    const waiting = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 10 }, { createdBy: owner.id });
    await waitFor(async () => (await worker.queue.getJobState(waiting)) === 'waiting', 'the second job to wait');

    await cancel(owner, waiting);
    await waitFor(async () => (await worker.queue.getJobState(waiting)) === 'unknown', 'the waiting job to leave BullMQ');
    const waitingRow = await readJob(sql, waiting);
    expect(waitingRow).toMatchObject({ status: 'cancelled', attempts: 0, started_at: null });
    expect(waitingRow.cancel_requested_at).not.toBeNull();

    await waitFor(async () => (await readJob(sql, active)).progress > 0, 'progress on the active job');
    await cancel(owner, active);
    const activeRow = await waitForStatus(sql, active, ['cancelled', 'succeeded', 'failed'], 5000);
    expect(activeRow.status).toBe('cancelled');
    expect(activeRow.attempts).toBe(1);
    expect(activeRow.progress).toBeLessThan(100);
    expect(activeRow.finished_at).not.toBeNull();
    expect((await jobEvents(sql, active)).at(-1)).toMatchObject({ status: 'cancelled' });

    // The worker is free again; the waiting job never ran.
    expect((await readJob(sql, waiting)).attempts).toBe(0);

    await retry(owner, waiting);
    const rerun = await waitForStatus(sql, waiting, ['succeeded', 'failed', 'cancelled']);
    expect(rerun).toMatchObject({ status: 'succeeded', attempts: 1, cancel_requested_at: null });
  });

  it('cancels a job waiting for its next attempt (delayed in BullMQ)', async () => {
    const { projectId, owner } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1, fail_times: 1 }, { createdBy: owner.id });
    await waitFor(async () => (await worker.queue.getJobState(id)) === 'delayed', 'the retry to be scheduled');
    expect((await readJob(sql, id)).status).toBe('running');
    await cancel(owner, id);
    const row = await waitForStatus(sql, id, ['cancelled', 'succeeded', 'failed'], 5000);
    expect(row.status).toBe('cancelled');
    expect(row.attempts).toBe(1);
    expect(row.error).toMatch(/^attempt 1\/3: diagnostic failure/);
    expect(await worker.queue.getJobState(id)).toBe('unknown');
  });

  it('refuses to cancel a finished job (the RPC’s 409) and leaves it as it was', async () => {
    const { projectId, owner } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 }, { createdBy: owner.id });
    const done = await waitForStatus(sql, id, ['succeeded', 'failed']);
    await expect(cancel(owner, id)).rejects.toMatchObject({ code: 'PT409' });
    expect(await readJob(sql, id)).toEqual(done);
  });
});
