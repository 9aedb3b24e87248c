/**
 * Runs the pgTAP suite in supabase/tests with pg_prove, as `postgres` (the role that
 * `supabase test db` uses), on both of the run's databases: without default privileges in
 * public and with Supabase's (tests/harness/global-setup.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { repoRoot, withUser } from '../devstack/db/setup.ts';
import { adminSql, testDatabases } from './harness/db.ts';

const run = promisify(execFile);

describe.each(testDatabases())('on the database $label', ({ label, url, supabaseDefaultPrivileges }) => {
  test(`schema public ${supabaseDefaultPrivileges ? 'has' : 'lacks'} Supabase's default privileges`, async () => {
    const sql = adminSql({ url, max: 1 });
    try {
      const rows = await sql<{ entry: string }[]>`
        select r.rolname || ' ' || d.defaclobjtype::text || ' ' || g.rolname || ' ' || a.privilege_type as entry
        from pg_default_acl d
        join pg_namespace n on n.oid = d.defaclnamespace
        join pg_roles r on r.oid = d.defaclrole,
        aclexplode(d.defaclacl) a join pg_roles g on g.oid = a.grantee
        where n.nspname = 'public' and g.rolname in ('anon', 'authenticated', 'service_role')`;
      const entries = new Set(rows.map((row) => row.entry));
      // ALL on tables (r), sequences (S) and functions (f), for objects of both creators.
      const expected = ['postgres', 'supabase_admin'].flatMap((creator) =>
        ['anon', 'authenticated', 'service_role'].flatMap((role) => [
          `${creator} r ${role} TRUNCATE`, `${creator} S ${role} USAGE`, `${creator} f ${role} EXECUTE`,
        ]));
      if (supabaseDefaultPrivileges) for (const entry of expected) expect(entries, entry).toContain(entry);
      else expect([...entries]).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  test('the pgTAP suite passes under pg_prove', async () => {
    const target = new URL(withUser(url, 'postgres'));
    const result = await run(
      'pg_prove',
      ['--ext', '.sql', '-r', '--host', target.hostname, '--port', target.port, '--username', 'postgres',
        '--dbname', target.pathname.slice(1), join(repoRoot, 'supabase', 'tests')],
      { maxBuffer: 64 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string }) => error);
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    const summary = /Files=(\d+), Tests=(\d+)/.exec(output);
    process.stdout.write(`pgTAP ${label}: ${summary ? `${summary[1]} files, ${summary[2]} assertions` : 'no summary'}\n`);
    expect(output, output).toMatch(/Result: PASS/);
    expect(Number(summary?.[2] ?? 0)).toBeGreaterThan(0);
  }, 300_000);
});
