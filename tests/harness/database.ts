/**
 * A private database per test file that needs one. A worker LISTENs to every job of its database
 * and its sweeper enqueues every queued row, so workers must not share the run's database
 * with other suites (they would run those suites' jobs). The first caller builds a
 * template (bootstrap + migrations, exactly as db:setup does) under an advisory lock;
 * every file then gets a fast copy of it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { inject } from 'vitest';
import { repoRoot, setupDatabase } from '../../devstack/db/setup.ts';

const LOCK_KEY = 7_270_001;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const dir of [join(repoRoot, 'sql', 'platform'), join(repoRoot, 'supabase', 'migrations')]) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
      hash.update(file).update(readFileSync(join(dir, file)));
    }
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * Creates a fresh, migrated database in the run's cluster; `drop()` removes it.
 *
 * @example
 * const db = await privateDatabase();
 * const sql = postgres(db.url);
 */
export async function privateDatabase(baseUrl: string = inject('databaseUrl')): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined });
  const template = `tandem_worker_tpl_${schemaFingerprint()}`;
  const name = `tandem_worker_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  try {
    await admin`select pg_advisory_lock(${LOCK_KEY})`;
    try {
      const [exists] = await admin`select 1 from pg_database where datname = ${template}`;
      if (!exists) {
        await admin.unsafe(`create database "${template}_build"`);
        await setupDatabase({ url: withDatabase(baseUrl, `${template}_build`) });
        await admin.unsafe(`alter database "${template}_build" rename to "${template}"`);
      }
      await admin.unsafe(`create database "${name}" template "${template}"`);
    } finally {
      await admin`select pg_advisory_unlock(${LOCK_KEY})`;
    }
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(baseUrl, name),
    async drop() {
      const cleanup = postgres(baseUrl, { max: 1, onnotice: () => undefined });
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`).catch(() => undefined);
      await cleanup.end();
    },
  };
}
