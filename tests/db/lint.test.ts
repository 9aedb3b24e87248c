/**
 * `supabase db lint --db-url` (plpgsql_check through the pinned Supabase CLI) finds no
 * warning and no error in the project's schemas.
 *
 * The CLI runs `create extension if not exists plpgsql_check` as `postgres`, which may not
 * create that (untrusted) extension on a plain PostgreSQL; on hosted Supabase it is
 * available to `postgres`. So the superuser creates it first, in `extensions`, where
 * `postgres`' search_path finds it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { adminSql, testDatabases, type Sql } from '../harness/db.ts';

const run = promisify(execFile);
const supabaseBin = join(repoRoot, 'node_modules', '.bin', 'supabase');

let sql: Sql;

beforeAll(async () => {
  sql = adminSql({ max: 1 });
  for (const { url } of testDatabases()) {
    const admin = adminSql({ url, max: 1 });
    await admin`create extension if not exists plpgsql_check with schema extensions`.finally(() => admin.end());
  }
});

afterAll(async () => {
  await sql?.end();
});

function cliUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('sslmode', 'disable');
  return url.toString();
}

/** Runs `supabase db lint` (on the run's database unless `databaseUrl` is given) and returns its exit code and output. */
async function lint(args: string[], databaseUrl: string = inject('databaseUrl')): Promise<{ code: number; output: string }> {
  const result = await run(
    supabaseBin,
    ['db', 'lint', '--db-url', cliUrl(databaseUrl), '--level', 'warning', '--fail-on', 'warning', '--workdir', repoRoot, ...args],
    { cwd: repoRoot, env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }, maxBuffer: 16 * 1024 * 1024 },
  ).then(
    (ok) => ({ code: 0, output: `${ok.stdout}${ok.stderr}` }),
    (failed: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof failed.code === 'number' ? failed.code : 1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    }),
  );
  return result;
}

test.each(testDatabases())('the migrations lint clean on the database $label: no warning, no error in public and private', async ({ url }) => {
  // The project's schemas only: other test files may create schemas of their own meanwhile.
  const { code, output } = await lint(['--schema', 'public,private'], url);
  expect(output).toContain('Linting schema: public');
  expect(output).toContain('Linting schema: private');
  expect(output, output).toContain('No schema errors found');
  expect(code, output).toBe(0);
}, 60_000);

test('the lint does report a broken function (so the check above can fail)', async () => {
  const schema = `lint_canary_${randomUUID().slice(0, 8)}`;
  await sql.unsafe(`create schema ${schema}`);
  try {
    await sql.unsafe(`create function ${schema}.broken() returns int language plpgsql as $$
      begin return (select count(*) from ${schema}.no_such_table); end $$`);
    const { code, output } = await lint(['--schema', schema]);
    expect(output).toContain('no_such_table');
    expect(code).not.toBe(0);
  } finally {
    await sql.unsafe(`drop schema ${schema} cascade`);
  }
}, 60_000);
