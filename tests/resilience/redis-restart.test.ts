/**
 * Redis restarted (losing everything: it keeps nothing on disk) during 1,000 submissions:
 * every submission still gets its 202, every job completes, none is lost or duplicated.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pool, report, startResilienceStack, submitJob, waitAllFinal, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'in-process' });
});
afterAll(async () => {
  await stack?.stop();
});

test('a Redis restart during 1,000 submissions loses and duplicates nothing', async () => {
  const total = 1000;
  let outage: Promise<void> | undefined;
  const started = Date.now();
  const results = await pool([...Array(total).keys()], 20, async (i) => {
    if (i === 300) {
      outage = (async () => {
        await stack.redis.stop();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await stack.redis.start();
      })();
    }
    return submitJob(stack, { ms: 0 }, `redis-restart-${i}`);
  });
  await outage;
  const accepted = results.filter((r) => r.status === 202).length;
  expect(results.filter((r) => r.status !== 202), 'every submission is accepted: the row is the truth').toEqual([]);

  const counts = await waitAllFinal(stack, total, 120_000);
  const recoveredInMs = Date.now() - started;
  const [totals] = await stack.sql<{ rows: number; distinct_keys: number }[]>`
    select count(*)::int as rows, count(distinct idempotency_key)::int as distinct_keys
    from public.jobs where project_id = ${stack.projectId}`;
  const { rows, distinct_keys } = totals!;
  report('redis-restart', { submitted: total, accepted, completed: counts.succeeded ?? 0, lost: total - (counts.succeeded ?? 0), duplicated: rows - distinct_keys, recovered_in_ms: recoveredInMs });
  expect(counts).toEqual({ succeeded: total });
  expect(rows).toBe(total);
  expect(distinct_keys).toBe(total);
});
