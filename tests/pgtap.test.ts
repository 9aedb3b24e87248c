/**
 * Runs the pgTAP suite in supabase/tests with pg_prove, as `postgres` (the role that
 * `supabase test db` uses), against the run's database.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, test } from 'vitest';
import { repoRoot, withUser } from '../devstack/db/setup.ts';

const run = promisify(execFile);

test('the pgTAP suite passes under pg_prove', async () => {
  const url = new URL(withUser(inject('databaseUrl'), 'postgres'));
  const result = await run(
    'pg_prove',
    ['--ext', '.sql', '-r', '--host', url.hostname, '--port', url.port, '--username', 'postgres',
      '--dbname', url.pathname.slice(1), join(repoRoot, 'supabase', 'tests')],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string; stderr?: string }) => error);
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const summary = /Files=(\d+), Tests=(\d+)/.exec(output);
  process.stdout.write(`pgTAP: ${summary ? `${summary[1]} files, ${summary[2]} assertions` : 'no summary'}\n`);
  expect(output, output).toMatch(/Result: PASS/);
  expect(Number(summary?.[2] ?? 0)).toBeGreaterThan(0);
}, 300_000);
