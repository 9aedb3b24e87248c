/**
 * The worker's privileged Postgres connections (postgres.js) and how it rides out a lost
 * connection: statements that failed because the connection went away are retried for a
 * while, everything else fails at once.
 */
import postgres from 'postgres';
import { isConnectionError } from '../../core/db/connection-errors.ts';
import { reconnectBackoff } from '../../core/db/reconnect.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;

/**
 * Opens a postgres.js pool tagged with `application_name`, so operators (and tests) can
 * tell the worker's connections apart in `pg_stat_activity`.
 *
 * @example
 * const sql = connectPostgres(config.databaseUrl, { applicationName: 'tandem-worker', max: 10 });
 */
export function connectPostgres(url: string, options: { applicationName: string; max: number }): Sql {
  return postgres(url, {
    max: options.max,
    onnotice: () => undefined,
    idle_timeout: 60,
    // A connect that hangs (a server shutting down or starting) must not hold a status
    // write for long: fail it and let retryOnConnectionLoss try a fresh connection.
    connect_timeout: 5,
    backoff: reconnectBackoff,
    connection: { application_name: options.applicationName.slice(0, 63) },
  });
}

export { isConnectionError };

/**
 * Runs `fn`, retrying with capped exponential backoff while it fails with a connection
 * error, for at most `maxWaitMs`. postgres.js reconnects on the next statement, so a
 * retry is all it takes once the server is back.
 *
 * @example
 * const rows = await retryOnConnectionLoss(() => sql`select 1`, { maxWaitMs: 30_000 });
 */
export async function retryOnConnectionLoss<T>(
  fn: () => Promise<T>,
  options: { maxWaitMs: number; onRetry?: (error: unknown, attempt: number) => void; isStopping?: () => boolean },
): Promise<T> {
  const deadline = Date.now() + options.maxWaitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || Date.now() >= deadline || options.isStopping?.()) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** Math.min(attempt, 6))));
    }
  }
}
