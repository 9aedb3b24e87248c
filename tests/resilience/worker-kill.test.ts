/**
 * The worker SIGKILLed three times while it runs jobs: after the last restart every job
 * reaches a final state and none is left `running`.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { jobCounts, pool, report, startResilienceStack, submitJob, waitAllFinal, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'child-process' });
});
afterAll(async () => {
  await stack?.stop();
});

test('three SIGKILLs of the worker leave no job unfinished', async () => {
  const total = 200;
  const results = await pool([...Array(total).keys()], 20, (i) => submitJob(stack, { ms: 800 }, `kill-${i}`));
  expect(results.every((r) => r.status === 202)).toBe(true);

  const started = Date.now();
  let worker = stack.spawnWorker();
  const runningAtKill: number[] = [];
  for (let kill = 0; kill < 3; kill++) {
    // Kill it mid-flight: only once it is running jobs.
    const deadline = Date.now() + 30_000;
    let running = 0;
    while (running === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      running = (await jobCounts(stack)).running ?? 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    runningAtKill.push(running);
    worker.kill('SIGKILL');
    await once(worker, 'exit');
    worker = stack.spawnWorker();
  }
  const counts = await waitAllFinal(stack, total, 120_000);
  const [attempts] = await stack.sql<{ max_used: number }[]>`
    select coalesce(max(attempts), 0)::int as max_used from public.jobs where project_id = ${stack.projectId}`;
  report('worker-kill', {
    submitted: total, completed: counts.succeeded ?? 0, failed: counts.failed ?? 0, running: counts.running ?? 0,
    kills: 3, running_at_each_kill: runningAtKill, max_attempts_used: attempts?.max_used, recovered_in_ms: Date.now() - started,
  });
  expect(runningAtKill.every((n) => n > 0), 'each kill hit a worker with running jobs').toBe(true);
  expect(counts.running ?? 0).toBe(0);
  expect(counts.queued ?? 0).toBe(0);
  expect((counts.succeeded ?? 0) + (counts.failed ?? 0)).toBe(total);
  worker.kill('SIGTERM');
  await once(worker, 'exit');
});
