/**
 * The last-owner invariant under concurrency: two owners of a project leave (or step down)
 * in two concurrent transactions. Row-level checks alone would let both pass; the trigger
 * serializes them on the project row, so exactly one succeeds and the other is refused
 * with 'a project must keep at least one owner'.
 *
 * The second transaction is released only once Postgres reports it waiting for a lock, so
 * the interleaving is forced, not hoped for.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { withRls, type TransactionSql } from '../../core/db/rls.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';

let sql: Sql;

beforeAll(() => {
  sql = adminSql();
});

afterAll(async () => {
  await sql?.end();
});

/** A project with two owners, `first` being the creator. */
async function twoOwners(): Promise<{ projectId: string; first: TestUser; second: TestUser }> {
  const first = await createUser(sql);
  const second = await createUser(sql);
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values ('race', ${first.id}) returning id`;
  await sql`insert into public.project_members (project_id, user_id, role) values (${project!.id}, ${second.id}, 'owner')`;
  return { projectId: project!.id, first, second };
}

async function waitUntilBlocked(applicationName: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where application_name = ${applicationName} and wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${applicationName} never waited for a lock`);
}

/**
 * Runs `firstStep` as `first` and keeps its transaction open until `secondStep`, run as
 * `second` in another connection, is blocked; then commits the first and awaits both.
 */
async function race(
  first: TestUser,
  firstStep: (tx: TransactionSql) => Promise<unknown>,
  second: TestUser,
  secondStep: (tx: TransactionSql) => Promise<unknown>,
): Promise<PromiseSettledResult<unknown>[]> {
  const applicationName = `tandem-race-${second.id.slice(0, 8)}`;
  const other = postgres(inject('databaseUrl'), { max: 1, onnotice: () => undefined, connection: { application_name: applicationName } });
  try {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstDone!: () => void;
    const firstStepDone = new Promise<void>((resolve) => (firstDone = resolve));
    const a = withRls(sql, first.claims, async (tx) => {
      await firstStep(tx);
      firstDone();
      await held;
    });
    await Promise.race([firstStepDone, a]);
    const b = withRls(other, second.claims, secondStep);
    await Promise.race([waitUntilBlocked(applicationName), b]);
    release();
    return await Promise.allSettled([a, b]);
  } finally {
    await other.end();
  }
}

async function owners(projectId: string): Promise<string[]> {
  const rows = await sql<{ user_id: string }[]>`
    select user_id from public.project_members where project_id = ${projectId} and role = 'owner'`;
  return rows.map((row) => row.user_id);
}

function expectOneRefused(results: PromiseSettledResult<unknown>[]): void {
  expect(results[0]!.status).toBe('fulfilled');
  expect(results[1]!.status).toBe('rejected');
  const reason = (results[1] as PromiseRejectedResult).reason as { code?: string; message?: string };
  expect(reason.code).toBe('P0001');
  expect(reason.message).toBe('a project must keep at least one owner');
}

test('two owners leaving at the same time: one leaves, the other stays owner', async () => {
  const { projectId, first, second } = await twoOwners();
  const results = await race(
    first,
    (tx) => tx`delete from public.project_members where project_id = ${projectId} and user_id = ${first.id}`,
    second,
    (tx) => tx`delete from public.project_members where project_id = ${projectId} and user_id = ${second.id}`,
  );
  expectOneRefused(results);
  expect(await owners(projectId)).toEqual([second.id]);
});

test('one owner stepping down while the other leaves: one of them remains owner', async () => {
  const { projectId, first, second } = await twoOwners();
  const results = await race(
    first,
    (tx) => tx`update public.project_members set role = 'viewer' where project_id = ${projectId} and user_id = ${first.id}`,
    second,
    (tx) => tx`delete from public.project_members where project_id = ${projectId} and user_id = ${second.id}`,
  );
  expectOneRefused(results);
  expect(await owners(projectId)).toEqual([second.id]);
});
