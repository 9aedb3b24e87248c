/**
 * Vitest global setup: one throwaway PostgreSQL cluster and one Redis per test run, set up
 * exactly as `npm run db:setup` sets up a database. `TANDEM_TEST_DATABASE_URL` points the
 * run at an existing (superuser) database instead; `DATABASE_URL` is never read.
 *
 * The run's database has no default privileges in schema public (`db:setup
 * --without-default-privileges`). The same cluster gets a second database for the
 * database suite (pgTAP, property tests, lint) that keeps the bootstrap's, as `supabase
 * start` has them, so the suite proves the grants hold with and without them.
 *
 * Redis: one single node and one 3-node Redis Cluster (devstack/redis/cluster.ts) per run.
 * `redisUrl` is the single node, or the cluster with `TANDEM_TEST_REDIS=cluster`, which
 * runs the whole suite on the cluster; `redisClusterUrl` is always the cluster (the
 * cluster suites use it). Suites keep apart by key prefix (TANDEM_REDIS_PREFIX), since a
 * cluster has no numbered databases (tests/harness/redis.ts).
 */
import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import { setupDatabase } from '../../devstack/db/setup.ts';
import { startCluster, type Cluster } from '../../devstack/postgres/cluster.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { startRedisCluster, type RedisCluster } from '../../devstack/redis/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test database (no default privileges in public, as new hosted projects). */
    databaseUrl: string;
    /** Superuser URL of a database set up after Supabase's default privileges in public (as `supabase start`). */
    defaultPrivilegesDatabaseUrl: string;
    /** URL of the run's Redis: the single node, or the cluster with TANDEM_TEST_REDIS=cluster. */
    redisUrl: string;
    /** URL of the run's 3-node Redis Cluster (`redis+cluster://...`). */
    redisClusterUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env.TANDEM_TEST_DATABASE_URL;
  let cluster: Cluster | undefined;
  const databaseUrl = existing ?? (cluster = await startCluster()).url;
  let redis: RedisServer | undefined;
  let redisCluster: RedisCluster;
  let defaultPrivilegesDatabaseUrl: string;
  try {
    // One after the other: the bootstrap creates and alters cluster-wide roles.
    await prepareDatabase(databaseUrl, { supabaseDefaultPrivileges: false });
    defaultPrivilegesDatabaseUrl = await createSiblingDatabase(databaseUrl, 'default_privileges');
    await prepareDatabase(defaultPrivilegesDatabaseUrl, { supabaseDefaultPrivileges: true });
    redis = await startRedisServer();
    redisCluster = await startRedisCluster();
  } catch (error) {
    // A setup that fails (e.g. pgTAP not installed) must not leave its cluster running.
    await redis?.stop();
    await cluster?.destroy();
    throw error;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('defaultPrivilegesDatabaseUrl', defaultPrivilegesDatabaseUrl);
  project.provide('redisUrl', process.env.TANDEM_TEST_REDIS === 'cluster' ? redisCluster.url : redis.url);
  project.provide('redisClusterUrl', redisCluster.url);
  const single = redis;
  return async () => {
    await single.stop();
    await redisCluster.stop();
    await cluster?.destroy();
  };
}

/** db:setup, then pgTAP (which the suite runs as `postgres`). */
async function prepareDatabase(url: string, options: { supabaseDefaultPrivileges?: boolean } = {}): Promise<void> {
  await setupDatabase({ url, supabaseDefaultPrivileges: options.supabaseDefaultPrivileges });
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin`create extension if not exists pgtap with schema extensions`;
  } finally {
    await admin.end();
  }
}

/** A fresh, empty database `<name of url's database>_<suffix>` next to the given one; its URL. */
async function createSiblingDatabase(url: string, suffix: string): Promise<string> {
  const sibling = new URL(url);
  const name = `${sibling.pathname.slice(1) || 'postgres'}_${suffix}`;
  sibling.pathname = `/${name}`;
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return sibling.toString();
}
