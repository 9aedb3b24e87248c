/**
 * A user signed up through the local Auth is a row real Supabase Auth (GoTrue) can read:
 * none of the auth.users columns GoTrue scans into plain strings is NULL
 * (sql/platform/facts.json, gotrue_string_columns), so the same database works under
 * `supabase start`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { adminSql, type Sql } from '../harness/db.ts';
import { startAuth, uniqueEmail, type RunningAuth } from './helpers.ts';

const facts = JSON.parse(readFileSync(join(repoRoot, 'sql', 'platform', 'facts.json'), 'utf8')) as {
  gotrue_string_columns: { columns: string[] };
};

let auth: RunningAuth;
let sql: Sql;

beforeAll(async () => {
  auth = await startAuth();
  sql = adminSql({ max: 1 });
});

afterAll(async () => {
  await auth?.close();
  await sql?.end();
});

test("a signed-up user has '' (never NULL) in every column GoTrue reads as a string", async () => {
  const email = uniqueEmail();
  const { data, error } = await auth.client().auth.signUp({ email, password: 'password123' });
  expect(error).toBeNull();
  const [row] = await sql<{ values: Record<string, string | null> }[]>`
    select (select jsonb_object_agg(key, value) from jsonb_each_text(to_jsonb(u)) where key = any(${facts.gotrue_string_columns.columns})) as values
    from auth.users u where u.id = ${data.user!.id}`;
  expect(row?.values).toEqual(Object.fromEntries(facts.gotrue_string_columns.columns.map((column) => [column, ''])));
});
