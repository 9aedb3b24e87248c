/**
 * A worker with the diagnostic job types off (TANDEM_DIAGNOSTIC_JOBS unset, a deployment's
 * default): a diagnostic job already queued (submitted while they were on, or written by
 * SQL) fails at once with an error that says why, and the product types run as usual.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Sql } from '../harness/db.ts';
import { createProject, insertJob, waitForStatus, useWorkerFixture } from './helpers.ts';

const fixture = useWorkerFixture({ diagnosticJobs: false });
let sql: Sql;
beforeAll(() => ({ sql } = fixture));

it('fails a queued diagnostic job with a clear error, without retrying it', async () => {
  const { projectId } = await createProject(sql);
  const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 5 }, { maxAttempts: 3 });
  const row = await waitForStatus(sql, id, ['succeeded', 'failed']);
  expect(row.status).toBe('failed');
  expect(row.attempts).toBeLessThanOrEqual(1);
  expect(row.error).toContain('job type "diagnostic.sleep" is a diagnostic type, which is off here (TANDEM_DIAGNOSTIC_JOBS is not "on")');
});

it('runs project.export as usual', async () => {
  const { projectId } = await createProject(sql);
  const id = await insertJob(sql, projectId, 'project.export', { include_jobs: false });
  const row = await waitForStatus(sql, id, ['succeeded', 'failed']);
  expect(row.status, row.error ?? '').toBe('succeeded');
});
