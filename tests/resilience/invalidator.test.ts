/**
 * The cache invalidator's Postgres connection killed while a membership changes (its
 * NOTIFY is lost): once the invalidator has reconnected it bumps the cache epoch, the
 * listing is fresh again, and from then on it is never stale.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createUser } from '../harness/db.ts';
import { report, startResilienceStack, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'in-process' });
});
afterAll(async () => {
  await stack?.stop();
});

async function memberCount(): Promise<{ count: number; cache: string | null }> {
  const response = await fetch(`${stack.functions.url}/projects`, { headers: { authorization: `Bearer ${stack.ownerToken}` } });
  const body = (await response.json()) as { data: { id: string; member_count: number }[] };
  return { count: body.data.find((p) => p.id === stack.projectId)?.member_count ?? -1, cache: response.headers.get('x-cache') };
}

test('no stale listing after the invalidator reconnects', async () => {
  await memberCount();
  expect(await memberCount()).toEqual({ count: 1, cache: 'hit' });

  const killed = await stack.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name like '%:tandem_cache:%' and pid <> pg_backend_pid()`;
  expect(killed.length, 'the invalidator has a listening session').toBeGreaterThan(0);
  await stack.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name like '%:tandem_cache:%'`;
  const killedAt = Date.now();
  const newcomer = await createUser(stack.sql);
  await stack.sql`insert into public.project_members (project_id, user_id, role) values (${stack.projectId}, ${newcomer.id}, 'viewer')`;

  let freshAt = 0;
  while (!freshAt && Date.now() - killedAt < 30_000) {
    if ((await memberCount()).count === 2) freshAt = Date.now();
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(freshAt, 'the listing becomes fresh after the reconnect').toBeGreaterThan(0);
  const after = await Promise.all(Array.from({ length: 20 }, () => memberCount()));
  report('invalidator', { stale_window_ms: freshAt - killedAt, stale_after_recovery: after.filter((r) => r.count !== 2).length });
  expect(after.every((r) => r.count === 2)).toBe(true);
});
