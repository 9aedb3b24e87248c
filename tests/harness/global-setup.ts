/**
 * Vitest global setup: one throwaway PostgreSQL cluster and one Redis per test run, set up
 * exactly as `npm run db:setup` sets up a database. `TANDEM_TEST_DATABASE_URL` points the
 * run at an existing (superuser) database instead; `DATABASE_URL` is never read.
 */
import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import { setupDatabase } from '../../devstack/db/setup.ts';
import { startCluster, type Cluster } from '../../devstack/postgres/cluster.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test database. */
    databaseUrl: string;
    /** URL of the run's Redis. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env.TANDEM_TEST_DATABASE_URL;
  let cluster: Cluster | undefined;
  const databaseUrl = existing ?? (cluster = await startCluster()).url;
  let redis: RedisServer;
  try {
    await setupDatabase({ url: databaseUrl });
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
    try {
      await admin`create extension if not exists pgtap with schema extensions`;
    } finally {
      await admin.end();
    }
    redis = await startRedisServer();
  } catch (error) {
    // A setup that fails (e.g. pgTAP not installed) must not leave its cluster running.
    await cluster?.destroy();
    throw error;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await cluster?.destroy();
  };
}
