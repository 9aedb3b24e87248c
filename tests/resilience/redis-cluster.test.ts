/**
 * Tandem on a 3-node Redis Cluster, and the node that serves Tandem's slot (every key is
 * under the `{tandem}` hash tag) restarted during 300 submissions: every submission gets
 * its 202, every job succeeds, none is lost and none runs twice (each row ends with one
 * attempt). The node keeps its data across the restart (append-only file).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { redisKeys } from '../../core/redis/keys.ts';
import { pool, report, startResilienceStack, submitJob, waitAllFinal, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'in-process', redis: 'cluster' });
});
afterAll(async () => {
  await stack?.stop();
});

test("a restart of the node that owns Tandem's slot loses and repeats nothing", async () => {
  const total = 300;
  const owner = await stack.redisCluster!.nodeFor(redisKeys().cacheEpoch);
  let outage: Promise<void> | undefined;
  let outageMs = 0;
  const started = Date.now();
  const results = await pool([...Array(total).keys()], 10, async (i) => {
    if (i === 100) {
      outage = (async () => {
        const down = Date.now();
        await owner.stop();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await owner.start();
        outageMs = Date.now() - down;
      })();
    }
    return submitJob(stack, { ms: 0 }, `cluster-restart-${i}`);
  });
  await outage;
  expect(results.filter((r) => r.status !== 202), 'every submission is accepted: the row is the truth').toEqual([]);

  const counts = await waitAllFinal(stack, total, 120_000);
  const [totals] = await stack.sql<{ rows: number; distinct_keys: number; repeated: number }[]>`
    select count(*)::int as rows, count(distinct idempotency_key)::int as distinct_keys,
           count(*) filter (where attempts <> 1)::int as repeated
    from public.jobs where project_id = ${stack.projectId}`;
  report('redis-cluster-restart', {
    submitted: total,
    completed: counts.succeeded ?? 0,
    lost: total - (counts.succeeded ?? 0),
    run_more_than_once: totals!.repeated,
    node_down_ms: outageMs,
    all_final_in_ms: Date.now() - started,
  });
  expect(counts).toEqual({ succeeded: total });
  expect(totals).toEqual({ rows: total, distinct_keys: total, repeated: 0 });
  expect(await stack.worker!.health()).toMatchObject({ status: 'ok', redis: true });
});
