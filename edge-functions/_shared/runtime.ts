/**
 * What a function needs at run time, built once per process from the environment: its
 * configuration, a Postgres pool, a Redis client, a token verifier and a logger.
 */
import type postgres from 'postgres';
import { createJwtVerifier, type VerifiedToken } from '../../core/auth/jwt.ts';
import { createUserExistence } from './auth/user-exists.ts';
import { configFromEnv, type FunctionConfig } from './config.ts';
import { reconnectBackoff } from '../../core/db/reconnect.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { createRepeatedLog, type RepeatedLog } from '../../core/log-repeats.ts';
import { createRedis, type LazyRedis } from './redis.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;

export interface FunctionDeps {
  /** The function's name and base path segment: `projects` or `jobs`. */
  name: string;
  /** Title and description of its OpenAPI document. */
  title: string;
  description: string;
  config: FunctionConfig;
  /** The Postgres pool (postgres.js is loaded on first use, or by warmUp). */
  db(): Promise<Sql>;
  redis: LazyRedis;
  verify: (token: string) => Promise<VerifiedToken>;
  /** Whether a verified token's user still exists (user-exists.ts). */
  userExists: (userId: string, check?: { fresh?: boolean }) => Promise<boolean>;
  log: Logger;
  /** For failures that repeat (Redis away): one line per event per interval, with a count. */
  repeats: RepeatedLog;
  /**
   * Loads postgres.js and connects to Redis in the background (once). Called after the
   * first response, so that neither weighs on the cold start.
   */
  warmUp(): void;
}

/**
 * A postgres.js pool for user requests: `prepare: false` so it works through Supabase's
 * transaction pooler (port 6543).
 *
 * @example
 * const sql = await createSql(config.databaseUrl);
 */
export async function createSql(url: string | undefined, options: { max?: number } = {}): Promise<Sql> {
  const { default: postgres } = await import('postgres');
  // Without a URL every query fails as "unavailable" rather than the function refusing to boot.
  return postgres(url ?? 'postgres://127.0.0.1:1/unconfigured', {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 30,
    // While Postgres is away a request gets its 503 within a few seconds: a connect that
    // hangs gives up after 3 s, and a lost pool tries again within a second.
    connect_timeout: 3,
    backoff: reconnectBackoff,
    onnotice: () => undefined,
    connection: { application_name: 'tandem-functions' },
  });
}

/**
 * Builds a function's dependencies from the environment.
 *
 * @example
 * const deps = dependenciesFromEnv({ name: 'jobs', title: 'Tandem jobs', description: '…' }, (n) => Deno.env.get(n));
 */
export function dependenciesFromEnv(
  identity: Pick<FunctionDeps, 'name' | 'title' | 'description'>,
  get: (name: string) => string | undefined,
): FunctionDeps {
  const config = configFromEnv(get);
  const log = createLogger({ service: 'functions', function: identity.name }, { level: config.logLevel });
  if (!config.databaseUrl) log.warn('no_database_url', { hint: 'set SUPABASE_DB_URL or DATABASE_URL' });
  const repeats = createRepeatedLog(log);
  const redis = createRedis(config.redis, {
    // One line per interval, not one per reconnection attempt.
    onError: (error) => repeats.warn('redis_error', { error: error.message, redis: config.redis.display }),
    onReady: () => repeats.resolved('redis_error'),
  });
  let sql: Promise<Sql> | undefined;
  const db = () => (sql ??= createSql(config.databaseUrl));
  let warmed = false;
  return {
    ...identity,
    config,
    db,
    warmUp() {
      if (warmed) return;
      warmed = true;
      setTimeout(() => {
        void db();
        void redis.client().catch(() => undefined);
      }, 0);
    },
    redis,
    verify: createJwtVerifier(config.jwt),
    userExists: createUserExistence({
      lookup: async (userId) => {
        const sql = await db();
        // GoTrue soft-deletes some users (deleted_at) before or instead of removing the row.
        const rows = await sql`select 1 from auth.users where id = ${userId} and deleted_at is null`;
        return rows.length > 0;
      },
    }),
    log,
    repeats,
  };
}
