/**
 * Postgres restarted mid-run: the functions answer 503 (never another 5xx) while it is
 * down, and everything recovers without manual action — submissions are accepted again
 * and every job accepted before, during and after the outage reaches a final state.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { report, startResilienceStack, submitJob, waitAllFinal, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'in-process' });
});
afterAll(async () => {
  await stack?.stop();
});

test('a Postgres restart mid-run recovers without manual action', async () => {
  const statuses: number[] = [];
  let submitting = true;
  let sequence = 0;
  const submitter = (async () => {
    while (submitting) {
      const result = await submitJob(stack, { ms: 20 }, `pg-restart-${sequence++}`);
      statuses.push(result.status);
      if (result.status !== 202) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stack.cluster.stop();
  const downAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await stack.cluster.start();
  const upAt = Date.now();

  // Recovery: the first accepted submission after Postgres is back.
  const acceptedBefore = statuses.filter((s) => s === 202).length;
  let recoveredAt = 0;
  while (!recoveredAt && Date.now() - upAt < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (statuses.filter((s) => s === 202).length > acceptedBefore + 5) recoveredAt = Date.now();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  submitting = false;
  await submitter;

  const accepted = statuses.filter((s) => s === 202).length;
  const unavailable = statuses.filter((s) => s === 503).length;
  const otherFailures = statuses.filter((s) => s !== 202 && s !== 503);
  const counts = await waitAllFinal(stack, accepted, 90_000);
  report('postgres-restart', {
    submitted: statuses.length, accepted, unavailable_503: unavailable, other_failures: otherFailures.length,
    completed: counts.succeeded ?? 0, downtime_ms: upAt - downAt, recovery_after_restart_ms: recoveredAt ? recoveredAt - upAt : null,
  });
  expect(otherFailures, 'only 503 while Postgres is down').toEqual([]);
  expect(recoveredAt, 'submissions are accepted again after the restart').toBeGreaterThan(0);
  expect(counts.succeeded).toBe(accepted);
  expect((counts.queued ?? 0) + (counts.running ?? 0)).toBe(0);
});
