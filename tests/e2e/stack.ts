/**
 * Starts the devstack in-process for end-to-end tests: its own database in the run's
 * cluster and its own redis-server, so that its worker takes no other test's jobs and
 * its cache epoch is its own, and free ports for the gateway and the worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { startDevstack, type RunningDevstack } from '../../devstack/dev.ts';
import { startRedisServer } from '../../devstack/redis/server.ts';
import { privateDatabase } from '../harness/database.ts';

export interface TestStack extends RunningDevstack {
  url: string;
  anonKey: string;
  /** Where this stack wrote its `env` file. */
  stateDir: string;
  /** A supabase-js client for one user (no persisted session). */
  client(): SupabaseClient;
}

/**
 * @example
 * const stack = await startTestStack();
 * afterAll(() => stack.stop());
 */
export async function startTestStack(): Promise<TestStack> {
  const database = await privateDatabase();
  const redis = await startRedisServer();
  const stateDir = mkdtempSync(join(tmpdir(), 'tandem-stack-'));
  const stack = await startDevstack({
    stateDir,
    gatewayPort: 0,
    workerPort: 0,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      SUPABASE_DB_URL: undefined,
      REDIS_URL: redis.url,
      TANDEM_LOG_LEVEL: 'error',
    },
  });
  if (!stack.url || !stack.anonKey) throw new Error('the devstack did not start its gateway');
  const { url, anonKey } = stack;
  return {
    ...stack,
    stop: async () => {
      await stack.stop();
      await redis.stop();
      await database.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
    stateDir,
    url,
    anonKey,
    client: () =>
      createClient(url, anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      }),
  };
}
