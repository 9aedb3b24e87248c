/**
 * Rules every migration from 2026-12-02 on follows (the earlier ones are applied on
 * deployed databases and stay as they are):
 * - a migration that creates, alters or drops a policy first sets `lock_timeout` with
 *   `set local` (the pinned CLI runs each file as one transaction; README, "Deploying");
 * - no migration alters default privileges (they belong to the host project).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';

const migrationsDir = join(repoRoot, 'supabase', 'migrations');
const RULES_SINCE = '20261202000000';

/** The SQL of a migration without its `--` comments. */
function statementsOf(file: string): string {
  return readFileSync(join(migrationsDir, file), 'utf8')
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
}

/** Why a migration's SQL breaks the lock_timeout rule, or null when it keeps it. */
function lockTimeoutProblem(sql: string): string | null {
  const firstPolicy = sql.search(/\b(create|alter|drop)\s+policy\b/i);
  if (firstPolicy === -1) return null;
  const lockTimeout = sql.search(/\bset\s+local\s+lock_timeout\b/i);
  if (lockTimeout === -1) return 'changes a policy without "set local lock_timeout = ..."';
  if (lockTimeout > firstPolicy) return 'sets lock_timeout only after its first policy statement';
  return null;
}

const migrations = readdirSync(migrationsDir).filter((file) => file.endsWith('.sql')).sort();
const governed = migrations.filter((file) => file >= RULES_SINCE);

test('the rules govern at least the migrations that introduced them', () => {
  expect(governed.length).toBeGreaterThanOrEqual(2);
});

test.each(governed)('%s sets lock_timeout (set local) before any policy statement', (file) => {
  expect(lockTimeoutProblem(statementsOf(file))).toBeNull();
});

test.each(migrations)('%s never alters default privileges', (file) => {
  expect(statementsOf(file)).not.toMatch(/\balter\s+default\s+privileges\b/i);
});

test('the lock_timeout rule catches a policy statement without it, or before it', () => {
  const policy = 'create policy "p" on public.projects for select using (true);';
  expect(lockTimeoutProblem(policy)).toMatch(/without/);
  expect(lockTimeoutProblem(`${policy}\nset local lock_timeout = '5s';`)).toMatch(/after/);
  expect(lockTimeoutProblem(`set local lock_timeout = '5s';\n${policy}`)).toBeNull();
  expect(lockTimeoutProblem(`set lock_timeout = '5s';\n${policy}`)).toMatch(/without/);
});
