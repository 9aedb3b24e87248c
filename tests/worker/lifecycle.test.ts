/**
 * The full lifecycle through a real worker: a job inserted by plain SQL runs (dispatcher),
 * moves queued → running → succeeded with attempts, progress, started/finished times and
 * its result, and the workspace channel carries its job_updated events in order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../worker/src/worker.ts';
import type { Sql } from '../harness/db.ts';
import { createProject, insertJob, jobEvents, waitForStatus, useWorkerFixture } from './helpers.ts';

const fixture = useWorkerFixture();
let sql: Sql;
let worker: RunningWorker;
beforeAll(() => ({ sql, worker } = fixture));

describe('job lifecycle', () => {
  it('runs a job inserted by SQL, with progress and ordered job_updated events', async () => {
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 300 });
    const row = await waitForStatus(sql, id, ['succeeded', 'failed', 'cancelled']);
    expect(row.status).toBe('succeeded');
    expect(row.attempts).toBe(1);
    expect(row.progress).toBe(100);
    expect(row.result).toEqual({ slept_ms: 300, attempt: 1 });
    expect(row.error).toBeNull();
    expect(row.started_at).not.toBeNull();
    expect(row.finished_at).not.toBeNull();
    expect(new Date(row.finished_at!).getTime()).toBeGreaterThanOrEqual(new Date(row.started_at!).getTime());

    const events = await jobEvents(sql, id);
    expect(events[0]).toMatchObject({ status: 'queued', attempts: 0, progress: 0 });
    expect(events[1]).toMatchObject({ status: 'running', attempts: 1 });
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', progress: 100 });
    const middle = events.slice(1, -1);
    expect(middle.length).toBeGreaterThanOrEqual(2); // progress was reported while running
    expect(middle.every((event) => event.status === 'running')).toBe(true);
    const progress = middle.map((event) => event.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('runs project.stats and project.export with their results', async () => {
    const { projectId, owner } = await createProject(sql);
    const stats = await insertJob(sql, projectId, 'project.stats', {});
    const exported = await insertJob(sql, projectId, 'project.export', {});
    const statsRow = await waitForStatus(sql, stats, ['succeeded', 'failed']);
    const exportRow = await waitForStatus(sql, exported, ['succeeded', 'failed']);
    expect(statsRow.status).toBe('succeeded');
    expect(statsRow.result).toMatchObject({ project_id: projectId, member_count: 1, members: { owner: 1, collaborator: 0, viewer: 0 } });
    expect(exportRow.status).toBe('succeeded');
    expect(exportRow.result).toMatchObject({
      format: 'tandem.project.export/v1',
      project: { id: projectId },
      members: [{ user_id: owner.id, role: 'owner' }],
      jobs: { total: 2 },
    });
  });

  it('fails an invalid payload at once, without retrying, with a clear error', async () => {
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 'soon' }, { maxAttempts: 3 });
    const row = await waitForStatus(sql, id, ['succeeded', 'failed']);
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(1);
    expect(row.error).toMatch(/^attempt 1\/3: invalid payload for diagnostic\.sleep at ms/);
    const bull = await worker.queue.getJob(id);
    expect(await bull?.getState()).toBe('failed');
    expect(bull?.failedReason).toMatch(/invalid payload/);
  });

  it('serves /health and /metrics', async () => {
    const health = await fetch(`http://127.0.0.1:${worker.port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', postgres: true, redis: true, listening: { tandem_jobs: true, tandem_cache: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/tandem_worker_jobs_processed_total\{type="diagnostic.sleep",outcome="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/tandem_jobs\{status="succeeded"\} [1-9]/);
    expect(metrics).toContain('tandem_worker_attempt_duration_seconds_bucket');
    expect(metrics).toMatch(/tandem_worker_dispatcher_actions_total\{op="insert",action="enqueued"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${worker.port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${worker.port}/health`, { method: 'POST' })).status).toBe(405);
  });
});
