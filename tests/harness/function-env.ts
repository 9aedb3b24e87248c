/**
 * The environment the test and benchmark harnesses give the Deno functions.
 */

/**
 * Environment for the functions against a database and Redis. `underLoad` turns off the
 * rate limits (so a load generator is not throttled) and logs only errors.
 *
 * @example
 * await startFunctions({ port: 0, env: functionEnv({ databaseUrl, redisUrl, jwtSecret, underLoad: true }) });
 */
export function functionEnv(options: {
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  /** TANDEM_REDIS_PREFIX (default: the functions' own, `{tandem}`). */
  redisPrefix?: string;
  underLoad?: boolean;
}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    TANDEM_JWT_SECRET: options.jwtSecret,
    ...(options.redisPrefix ? { TANDEM_REDIS_PREFIX: options.redisPrefix } : {}),
    // The suites and the benchmark submit diagnostic.sleep jobs.
    TANDEM_DIAGNOSTIC_JOBS: 'on',
    ...(options.underLoad
      ? { TANDEM_LOG_LEVEL: 'error', TANDEM_RATE_LIMIT_USER_WRITES: '0', TANDEM_RATE_LIMIT_USER_READS: '0', TANDEM_RATE_LIMIT_IP: '0' }
      : {}),
  };
}
