/**
 * The worker's configuration, read from the environment and validated with zod at start.
 * The shared variables (`SUPABASE_DB_URL` / `DATABASE_URL`, `REDIS_URL`, `PORT`: README.md,
 * "Configuration") plus the worker's own `TANDEM_WORKER_*` settings (docs/worker.md).
 */
import { z } from 'zod';
import { diagnosticJobsFromEnv } from '../../core/jobs/catalog.ts';
import { parseRedisUrl } from '../../core/redis/connection.ts';
import { DEFAULT_REDIS_PREFIX, redisPrefixSchema } from '../../core/redis/keys.ts';
import type { InvitationMailConfig } from './mail/outbox.ts';

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int(`must be an integer`).min(min).max(max).default(fallback);

const postgresUrl = z
  .string()
  .trim()
  .min(1)
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL');
const redisUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    try {
      parseRedisUrl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^REDIS_URL /, '') });
    }
  });

/** Environment variables the worker reads, with their defaults. */
export const workerEnvSchema = z.object({
  SUPABASE_DB_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  REDIS_TLS_CA: z.string().optional(),
  PORT: integer(0, 65_535, 54_334),
  TANDEM_WORKER_METRICS_HOST: z
    .union([z.ipv4(), z.ipv6(), z.hostname()], 'must be an IP address or a host name')
    .default('127.0.0.1'),
  TANDEM_WORKER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,40}$/, 'must be 1-40 letters, digits or _.:-')
    .default('tandem-worker'),
  TANDEM_REDIS_PREFIX: redisPrefixSchema.default(DEFAULT_REDIS_PREFIX),
  /** Replaced by TANDEM_REDIS_PREFIX (shared with the functions): refused with a message saying so. */
  TANDEM_WORKER_QUEUE_PREFIX: z
    .never({ error: 'was replaced by TANDEM_REDIS_PREFIX (default {tandem}), which the functions read too: set that instead' })
    .optional(),
  TANDEM_WORKER_CONCURRENCY: integer(1, 1000, 10),
  TANDEM_WORKER_DB_POOL: integer(2, 200, 10),
  TANDEM_WORKER_SWEEP_INTERVAL_MS: integer(100, 3_600_000, 30_000),
  TANDEM_WORKER_RETENTION_SECONDS: integer(1, 10 * 365 * 86_400, 7 * 86_400),
  TANDEM_WORKER_DEAD_LETTER_SECONDS: integer(1, 10 * 365 * 86_400, 14 * 86_400),
  TANDEM_WORKER_KEEP_COMPLETED: integer(0, 1_000_000, 1000),
  TANDEM_WORKER_BACKOFF_BASE_MS: integer(1, 3_600_000, 1000),
  TANDEM_WORKER_BACKOFF_MAX_MS: integer(1, 86_400_000, 5 * 60_000),
  TANDEM_WORKER_PROGRESS_INTERVAL_MS: integer(0, 60_000, 250),
  TANDEM_WORKER_WRITE_BATCH_MS: integer(0, 1000, 0),
  TANDEM_WORKER_SHUTDOWN_TIMEOUT_MS: integer(0, 3_600_000, 25_000),
  TANDEM_WORKER_LOCK_DURATION_MS: integer(1000, 3_600_000, 30_000),
  TANDEM_WORKER_STALLED_INTERVAL_MS: integer(500, 3_600_000, 30_000),
  TANDEM_WORKER_LISTEN_CHECK_MS: integer(200, 600_000, 5000),
  TANDEM_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** SMTP server for invitation mails; unset: invitations are not mailed (the outbox waits). */
  SMTP_HOST: z.union([z.ipv4(), z.ipv6(), z.hostname()], 'must be an IP address or a host name').optional(),
  SMTP_PORT: integer(1, 65_535, 587),
  SMTP_USER: z.string().optional(),
  SMTP_PASS: z.string().optional(),
  SMTP_ADMIN_EMAIL: z.email('must be an email address').default('admin@email.com'),
  SMTP_SENDER_NAME: z.string().trim().min(1).max(100).default('Tandem'),
  /** Base URL of the app the accept link opens (the console in the devstack). */
  TANDEM_SITE_URL: z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^\s/]+/.test(value), 'must be an http:// or https:// URL')
    .default('http://127.0.0.1:54321'),
  TANDEM_WORKER_MAIL_MAX_ATTEMPTS: integer(1, 100, 8),
  TANDEM_WORKER_MAIL_POLL_MS: integer(100, 3_600_000, 5000),
  /** Read (and validated) by diagnosticJobsFromEnv, as the functions read it. */
  TANDEM_DIAGNOSTIC_JOBS: z.string().optional(),
});

/** The validated configuration `startWorker` runs with. */
export interface WorkerConfig {
  /** Privileged Postgres URL (a superuser or `postgres`: job status is the service's). */
  databaseUrl: string;
  /** REDIS_URL: single node or cluster, TLS, credentials (core/redis/connection.ts). */
  redisUrl: string;
  /** REDIS_TLS_CA: the PEM text of a private CA to trust for rediss:// (core/redis/connection.ts). */
  redisTlsCa?: string;
  /** Port of /health and /metrics; 0 picks a free one. */
  port: number;
  /** Address /health and /metrics listen on: loopback unless exposed on purpose (0.0.0.0 in a container). */
  metricsHost: string;
  /** Names the worker's Postgres connections (`application_name`) and its logs. */
  name: string;
  /** TANDEM_REDIS_PREFIX: the prefix of every Redis key, BullMQ's included; hash-tagged (core/redis/keys.ts). */
  redisPrefix: string;
  concurrency: number;
  dbPoolSize: number;
  sweepIntervalMs: number;
  /** Finished jobs rows older than this are deleted. */
  retentionSeconds: number;
  /** Final failures stay in BullMQ's failed set (the dead-letter set) this long. */
  deadLetterSeconds: number;
  /** How many completed BullMQ jobs are kept. */
  keepCompleted: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** At most one progress write per job per interval. */
  progressIntervalMs: number;
  /** Extra wait to gather status writes into one statement (0: batches form by themselves). */
  writeBatchMs: number;
  shutdownTimeoutMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How often the LISTEN connections are checked (and re-established when lost). */
  listenCheckMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** TANDEM_DIAGNOSTIC_JOBS=on: run the diagnostic job types (off by default; the functions read the same setting). */
  diagnosticJobs: boolean;
  /** Invitation mail (SMTP_*, TANDEM_SITE_URL); undefined when SMTP_HOST is unset. */
  mail?: InvitationMailConfig | undefined;
}

/** A configuration problem, with one line per bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads and validates the worker's configuration; throws a ConfigError naming every bad
 * variable.
 *
 * @example
 * const config = loadConfig(process.env);
 * // config.concurrency === 10 unless TANDEM_WORKER_CONCURRENCY says otherwise
 */
export function loadConfig(env: Record<string, string | undefined>): WorkerConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = workerEnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`invalid worker configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const databaseUrl = e.SUPABASE_DB_URL ?? e.DATABASE_URL;
  if (!databaseUrl) {
    throw new ConfigError('invalid worker configuration:\n  DATABASE_URL: set SUPABASE_DB_URL or DATABASE_URL (a privileged Postgres URL)');
  }
  let diagnosticJobs: boolean;
  try {
    diagnosticJobs = diagnosticJobsFromEnv((name) => env[name]);
  } catch (error) {
    throw new ConfigError(`invalid worker configuration:\n  ${(error as Error).message}`);
  }
  if (e.TANDEM_WORKER_BACKOFF_MAX_MS < e.TANDEM_WORKER_BACKOFF_BASE_MS) {
    throw new ConfigError('invalid worker configuration:\n  TANDEM_WORKER_BACKOFF_MAX_MS: must be at least TANDEM_WORKER_BACKOFF_BASE_MS');
  }
  try {
    parseRedisUrl(e.REDIS_URL, { tlsCa: e.REDIS_TLS_CA });
  } catch (error) {
    throw new ConfigError(`invalid worker configuration:\n  ${(error as Error).message}`);
  }
  return {
    databaseUrl,
    redisUrl: e.REDIS_URL,
    ...(e.REDIS_TLS_CA ? { redisTlsCa: e.REDIS_TLS_CA } : {}),
    port: e.PORT,
    metricsHost: e.TANDEM_WORKER_METRICS_HOST,
    name: e.TANDEM_WORKER_NAME,
    redisPrefix: e.TANDEM_REDIS_PREFIX,
    concurrency: e.TANDEM_WORKER_CONCURRENCY,
    dbPoolSize: e.TANDEM_WORKER_DB_POOL,
    sweepIntervalMs: e.TANDEM_WORKER_SWEEP_INTERVAL_MS,
    retentionSeconds: e.TANDEM_WORKER_RETENTION_SECONDS,
    deadLetterSeconds: e.TANDEM_WORKER_DEAD_LETTER_SECONDS,
    keepCompleted: e.TANDEM_WORKER_KEEP_COMPLETED,
    backoffBaseMs: e.TANDEM_WORKER_BACKOFF_BASE_MS,
    backoffMaxMs: e.TANDEM_WORKER_BACKOFF_MAX_MS,
    progressIntervalMs: e.TANDEM_WORKER_PROGRESS_INTERVAL_MS,
    writeBatchMs: e.TANDEM_WORKER_WRITE_BATCH_MS,
    shutdownTimeoutMs: e.TANDEM_WORKER_SHUTDOWN_TIMEOUT_MS,
    lockDurationMs: e.TANDEM_WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: e.TANDEM_WORKER_STALLED_INTERVAL_MS,
    listenCheckMs: e.TANDEM_WORKER_LISTEN_CHECK_MS,
    logLevel: e.TANDEM_LOG_LEVEL,
    diagnosticJobs,
    mail: e.SMTP_HOST
      ? {
          smtp: {
            host: e.SMTP_HOST,
            port: e.SMTP_PORT,
            user: e.SMTP_USER,
            pass: e.SMTP_PASS,
            adminEmail: e.SMTP_ADMIN_EMAIL,
            senderName: e.SMTP_SENDER_NAME,
          },
          siteUrl: e.TANDEM_SITE_URL,
          maxAttempts: e.TANDEM_WORKER_MAIL_MAX_ATTEMPTS,
          pollMs: e.TANDEM_WORKER_MAIL_POLL_MS,
          backoff: { baseMs: e.TANDEM_WORKER_BACKOFF_BASE_MS, maxMs: e.TANDEM_WORKER_BACKOFF_MAX_MS },
        }
      : undefined,
  };
}
