/**
 * The edge functions' configuration, read from the environment (README.md, "Configuration",
 * and docs/functions.md).
 * Runtime-neutral: pass `Deno.env.get` on Deno or a `process.env` lookup on Node.
 */
import { jwtVerifierConfigFromEnv, type JwtVerifierConfig } from '../../core/auth/jwt.ts';
import { diagnosticJobsFromEnv } from '../../core/jobs/catalog.ts';

/** Sliding-window limits; 0 turns a limit off. */
export interface RateLimitConfig {
  windowSeconds: number;
  /** Writes (POST, PATCH, DELETE) per user per window. */
  userWrites: number;
  /** Listing reads (GET /projects, GET /jobs) per user per window. */
  userReads: number;
  /** Writes and listings per client IP per window, all users together. */
  ip: number;
  /**
   * TANDEM_TRUSTED_PROXY_HOPS: proxies in front of the function that each append their
   * peer to X-Forwarded-For (0: the socket's peer is the client; see client-address.ts).
   */
  trustedProxyHops: number;
}

export interface FunctionConfig {
  /** SUPABASE_DB_URL, else DATABASE_URL. */
  databaseUrl: string | undefined;
  /** REDIS_URL (default redis://127.0.0.1:6379). */
  redisUrl: string;
  jwt: JwtVerifierConfig;
  rateLimit: RateLimitConfig;
  /** TANDEM_LISTING_CACHE: `on` (default) or `off` (every listing queries Postgres; for diagnosis and benchmarks). */
  listingCache: boolean;
  /** TANDEM_LOG_LEVEL: debug | info | warn | error. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** TANDEM_DIAGNOSTIC_JOBS: `on` accepts the diagnostic job types; `off` (default) refuses them. */
  diagnosticJobs: boolean;
}

function nonNegativeInteger(get: (name: string) => string | undefined, name: string, fallback: number): number {
  const raw = get(name);
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/**
 * Reads the configuration; throws on malformed values so a misconfiguration fails at boot.
 *
 * @example
 * const config = configFromEnv((name) => Deno.env.get(name));
 */
export function configFromEnv(get: (name: string) => string | undefined): FunctionConfig {
  const level = get('TANDEM_LOG_LEVEL');
  const listingCache = (get('TANDEM_LISTING_CACHE') ?? 'on').trim().toLowerCase() || 'on';
  if (listingCache !== 'on' && listingCache !== 'off') {
    throw new Error(`TANDEM_LISTING_CACHE must be "on" or "off", got "${get('TANDEM_LISTING_CACHE')}"`);
  }
  return {
    databaseUrl: get('SUPABASE_DB_URL') || get('DATABASE_URL') || undefined,
    redisUrl: get('REDIS_URL') || 'redis://127.0.0.1:6379',
    jwt: jwtVerifierConfigFromEnv(get),
    rateLimit: {
      windowSeconds: Math.max(1, nonNegativeInteger(get, 'TANDEM_RATE_LIMIT_WINDOW_SECONDS', 60)),
      userWrites: nonNegativeInteger(get, 'TANDEM_RATE_LIMIT_USER_WRITES', 300),
      userReads: nonNegativeInteger(get, 'TANDEM_RATE_LIMIT_USER_READS', 1200),
      ip: nonNegativeInteger(get, 'TANDEM_RATE_LIMIT_IP', 3000),
      trustedProxyHops: nonNegativeInteger(get, 'TANDEM_TRUSTED_PROXY_HOPS', 0),
    },
    listingCache: listingCache === 'on',
    logLevel: level === 'debug' || level === 'warn' || level === 'error' ? level : 'info',
    diagnosticJobs: diagnosticJobsFromEnv(get),
  };
}
