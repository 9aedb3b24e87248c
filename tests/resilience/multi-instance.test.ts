/**
 * Two function instances and two worker processes on one Postgres and one Redis, as a
 * platform runs them: 600 submissions spread over both instances end final exactly once
 * (each row one attempt, no row left queued or running, both workers did work), and a
 * change made through one instance invalidates the listing the other had cached.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findFreePort } from '../../devstack/net/ports.ts';
import { pool, report, startResilienceStack, submitJob, waitAllFinal, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
const workerPorts: number[] = [];
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'child-process', functionInstances: 2 });
  for (let i = 0; i < 2; i++) {
    const port = await findFreePort();
    workerPorts.push(port);
    stack.spawnWorker({ PORT: String(port) });
  }
});
afterAll(async () => {
  await stack?.stop();
});

async function processedBy(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^tandem_worker_jobs_processed_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function listing(instance: number): Promise<{ cache: string | null; name: string }> {
  const response = await fetch(`${stack.functionInstances[instance]!.url}/projects`, { headers: { authorization: `Bearer ${stack.ownerToken}` } });
  const body = (await response.json()) as { data: { id: string; name: string }[] };
  return { cache: response.headers.get('x-cache'), name: body.data.find((p) => p.id === stack.projectId)!.name };
}

test('every job is final exactly once, and the cache is shared and invalidated across instances', async () => {
  for (const port of workerPorts) {
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status, { timeout: 30_000 }).toBe(200);
  }
  const total = 600;
  const started = Date.now();
  const results = await pool([...Array(total).keys()], 20, (i) =>
    submitJob(stack, { ms: 5 }, `multi-${i}`, stack.functionInstances[i % 2]),
  );
  expect(results.filter((r) => r.status !== 202)).toEqual([]);
  const counts = await waitAllFinal(stack, total, 120_000);
  const allFinalMs = Date.now() - started;
  const [totals] = await stack.sql<{ rows: number; repeated: number; unfinished: number }[]>`
    select count(*)::int as rows, count(*) filter (where attempts <> 1)::int as repeated,
           count(*) filter (where finished_at is null)::int as unfinished
    from public.jobs where project_id = ${stack.projectId}`;
  const perWorker = await Promise.all(workerPorts.map(processedBy));

  // The cache: filled through one instance, served by the other, invalidated for both by a
  // change made through either.
  await listing(0);
  expect((await listing(0)).cache).toBe('hit');
  expect((await listing(1)).cache).toBe('hit');
  const renamed = await fetch(`${stack.functionInstances[1]!.url}/projects/${stack.projectId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${stack.ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'renamed through instance 2' }),
  });
  expect(renamed.status).toBe(200);
  const afterRename = await listing(0);

  report('multi-instance', {
    function_instances: 2,
    workers: 2,
    submitted: total,
    succeeded: counts.succeeded ?? 0,
    run_more_than_once: totals!.repeated,
    unfinished: totals!.unfinished,
    processed_per_worker: perWorker,
    all_final_in_ms: allFinalMs,
    listing_after_rename_on_other_instance: afterRename,
  });
  expect(counts).toEqual({ succeeded: total });
  expect(totals).toEqual({ rows: total, repeated: 0, unfinished: 0 });
  expect(perWorker.reduce((a, b) => a + b, 0)).toBe(total);
  expect(perWorker.every((n) => n > 0), 'both workers take jobs').toBe(true);
  expect(afterRename).toEqual({ cache: 'miss', name: 'renamed through instance 2' });
});
