/**
 * How postgres.js pools reconnect after Postgres went away. Shared by the functions and
 * the worker; runs on Deno and Node.
 */

/**
 * Seconds postgres.js waits before a connection's next connect, after `attempt` failed
 * connects across the pool (its `backoff` option). postgres.js's default grows to 20 s
 * and counts every failed connect of the pool: after a short outage under load, each
 * connection slept 10–20 s before trying again, so requests waited that long after the
 * database was back (tests/resilience/postgres-restart.test.ts). Capped at one second,
 * the pool finds the server again within a second and a request during an outage gets
 * its 503 within a second.
 *
 * @example
 * postgres(url, { backoff: reconnectBackoff });
 * reconnectBackoff(1); // 0.1
 */
export const reconnectBackoff = (attempt: number): number => Math.min(0.05 * 2 ** attempt, 1);
