/**
 * The edge functions' configuration, read from the environment with a zod schema
 * (README.md, "Configuration", and docs/functions.md).
 * Runtime-neutral: pass `Deno.env.get` on Deno or a `process.env` lookup on Node.
 */
import { z } from 'zod';
import { jwtVerifierConfigFromEnv, type JwtVerifierConfig } from '../../core/auth/jwt.ts';
import { diagnosticJobsFromEnv } from '../../core/jobs/catalog.ts';
import { parseRedisUrl, type RedisSettings } from '../../core/redis/connection.ts';
import { redisKeys, redisPrefixFromEnv, type RedisKeyLayout } from '../../core/redis/keys.ts';

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
  /** REDIS_URL (default redis://127.0.0.1:6379): single node or cluster, TLS, credentials (core/redis/connection.ts). */
  redisUrl: string;
  redis: RedisSettings;
  /** Every Redis key, under TANDEM_REDIS_PREFIX (default `{tandem}`; core/redis/keys.ts). */
  redisKeys: RedisKeyLayout;
  jwt: JwtVerifierConfig;
  rateLimit: RateLimitConfig;
  /** TANDEM_LISTING_CACHE: `on` (default) or `off` (every listing queries Postgres; for diagnosis and benchmarks). */
  listingCache: boolean;
  /** TANDEM_LOG_LEVEL: debug | info | warn | error (anything else: info). */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** TANDEM_DIAGNOSTIC_JOBS: `on` accepts the diagnostic job types; `off` (default) refuses them. */
  diagnosticJobs: boolean;
}

/** An unset or blank variable takes the default. */
const blankAsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const nonNegativeInteger = (fallback: number) =>
  z.preprocess(
    blankAsUnset,
    z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined) return fallback;
        const value = Number(raw);
        if (!Number.isInteger(value) || value < 0) {
          ctx.addIssue({ code: 'custom', message: `must be a non-negative integer, got "${raw}"` });
          return z.NEVER;
        }
        return value;
      }),
  );

/** The variables read here, with their defaults (the JWT and diagnostic settings are read by their own modules). */
export const functionEnvSchema = z.object({
  SUPABASE_DB_URL: z.preprocess(blankAsUnset, z.string().optional()),
  DATABASE_URL: z.preprocess(blankAsUnset, z.string().optional()),
  REDIS_URL: z
    .preprocess(blankAsUnset, z.string().default('redis://127.0.0.1:6379'))
    .transform((url, ctx) => {
      try {
        return { url, settings: parseRedisUrl(url) };
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^REDIS_URL /, '') });
        return z.NEVER;
      }
    }),
  /** A private CA's PEM text for rediss:// (core/redis/connection.ts). */
  REDIS_TLS_CA: z.preprocess(blankAsUnset, z.string().optional()),
  TANDEM_RATE_LIMIT_WINDOW_SECONDS: nonNegativeInteger(60).transform((value) => Math.max(1, value)),
  TANDEM_RATE_LIMIT_USER_WRITES: nonNegativeInteger(300),
  TANDEM_RATE_LIMIT_USER_READS: nonNegativeInteger(1200),
  TANDEM_RATE_LIMIT_IP: nonNegativeInteger(3000),
  TANDEM_TRUSTED_PROXY_HOPS: nonNegativeInteger(0),
  TANDEM_LISTING_CACHE: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
    z.enum(['on', 'off'], { error: (issue) => `must be "on" or "off", got "${String(issue.input)}"` }).default('on'),
  ),
  TANDEM_LOG_LEVEL: z.string().optional().transform((level) => (level === 'debug' || level === 'warn' || level === 'error' ? level : 'info')),
});

/**
 * Reads the configuration; throws on malformed values (naming each bad variable) so a
 * misconfiguration fails at boot.
 *
 * @example
 * const config = configFromEnv((name) => Deno.env.get(name));
 */
export function configFromEnv(get: (name: string) => string | undefined): FunctionConfig {
  const names = Object.keys(functionEnvSchema.shape) as (keyof typeof functionEnvSchema.shape)[];
  const parsed = functionEnvSchema.safeParse(Object.fromEntries(names.map((name) => [name, get(name)])));
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; '));
  }
  const e = parsed.data;
  // The CA is checked against the URL's scheme here, once both are read.
  const redis = e.REDIS_TLS_CA ? parseRedisUrl(e.REDIS_URL.url, { tlsCa: e.REDIS_TLS_CA }) : e.REDIS_URL.settings;
  return {
    databaseUrl: e.SUPABASE_DB_URL ?? e.DATABASE_URL,
    redisUrl: e.REDIS_URL.url,
    redis,
    redisKeys: redisKeys(redisPrefixFromEnv(get)),
    jwt: jwtVerifierConfigFromEnv(get),
    rateLimit: {
      windowSeconds: e.TANDEM_RATE_LIMIT_WINDOW_SECONDS,
      userWrites: e.TANDEM_RATE_LIMIT_USER_WRITES,
      userReads: e.TANDEM_RATE_LIMIT_USER_READS,
      ip: e.TANDEM_RATE_LIMIT_IP,
      trustedProxyHops: e.TANDEM_TRUSTED_PROXY_HOPS,
    },
    listingCache: e.TANDEM_LISTING_CACHE === 'on',
    logLevel: e.TANDEM_LOG_LEVEL,
    diagnosticJobs: diagnosticJobsFromEnv(get),
  };
}
