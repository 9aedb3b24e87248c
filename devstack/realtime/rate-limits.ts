/**
 * The tenant limits of Supabase Realtime and the rate counters that enforce them, as
 * supabase/realtime keeps them (lib/realtime/api/tenant.ex, lib/realtime/tenants.ex,
 * lib/realtime/rate_counter/rate_counter.ex): a counter sums what was added during each tick
 * (5 s), keeps the last 12 ticks, and its average is events per second over those ticks; a
 * limit is "triggered" at the tick where the average reaches it and released at the first
 * tick where it falls below. The local stand-in serves one tenant, so every counter is the
 * whole server's.
 */
import { z } from 'zod';
import { optionalIntegerVar, parseEnv } from '../config/cli.ts';

/** A tenant's limits, under the names of upstream's tenant fields (the platform's settings). */
export interface TenantLimits {
  /** Sockets with at least one joined channel (upstream default, TENANT_MAX_CONCURRENT_USERS: 200). */
  max_concurrent_users: number;
  /** Broadcast events per second, each delivered copy counted (TENANT_MAX_EVENTS_PER_SECOND: 100). */
  max_events_per_second: number;
  /** Channel joins per second (TENANT_MAX_JOINS_PER_SECOND: 100). */
  max_joins_per_second: number;
  /** Presence events per second: syncs, tracks and delivered diffs (tenant field default: 1000). */
  max_presence_events_per_second: number;
  /** Largest broadcast or track payload in kB; the check allows 500 bytes more (default: 3000). */
  max_payload_size_in_kb: number;
  /** Channels one socket may hold (TENANT_MAX_CHANNELS_PER_CLIENT: 100). */
  max_channels_per_client: number;
  /** Presence track/untrack calls per channel per window (CLIENT_PRESENCE_MAX_CALLS: 5). */
  max_client_presence_events_per_window: number;
  /** That window (CLIENT_PRESENCE_WINDOW_MS: 30 s). */
  client_presence_window_ms: number;
  /** Only private channels may be joined (the dashboard's "allow public access" switched off). */
  private_only: boolean;
}

/** What `supabase start` seeds: upstream's defaults (config/runtime.exs, the tenant schema). */
export const DEFAULT_TENANT_LIMITS: Readonly<TenantLimits> = Object.freeze({
  max_concurrent_users: 200,
  max_events_per_second: 100,
  max_joins_per_second: 100,
  max_presence_events_per_second: 1000,
  max_payload_size_in_kb: 3000,
  max_channels_per_client: 100,
  max_client_presence_events_per_window: 5,
  client_presence_window_ms: 30_000,
  private_only: false,
});

/**
 * Upstream's payload check (Tenants.validate_payload_size): kB × 1000 plus 500 bytes of padding.
 *
 * @example
 * maxPayloadBytes({ ...DEFAULT_TENANT_LIMITS }) // 3_000_500
 */
export function maxPayloadBytes(limits: Pick<TenantLimits, 'max_payload_size_in_kb'>): number {
  return limits.max_payload_size_in_kb * 1000 + 500;
}

const NUMERIC_ENV: Array<[keyof TenantLimits, string]> = [
  ['max_concurrent_users', 'TENANT_MAX_CONCURRENT_USERS'],
  ['max_events_per_second', 'TENANT_MAX_EVENTS_PER_SECOND'],
  ['max_joins_per_second', 'TENANT_MAX_JOINS_PER_SECOND'],
  ['max_channels_per_client', 'TENANT_MAX_CHANNELS_PER_CLIENT'],
  ['max_client_presence_events_per_window', 'CLIENT_PRESENCE_MAX_CALLS'],
  ['client_presence_window_ms', 'CLIENT_PRESENCE_WINDOW_MS'],
  // Upstream sets these two per tenant only (no environment default); the names follow its pattern.
  ['max_presence_events_per_second', 'TENANT_MAX_PRESENCE_EVENTS_PER_SECOND'],
  ['max_payload_size_in_kb', 'TENANT_MAX_PAYLOAD_SIZE_IN_KB'],
];

const TENANT_ENV = z.object(Object.fromEntries(NUMERIC_ENV.map(([, name]) => [name, optionalIntegerVar({ min: 1, error: 'must be a positive integer' })])));

/**
 * Tenant limits from the environment variables upstream's server reads (unset ones keep the
 * defaults). A value that is not a positive integer is an error naming the variable.
 *
 * @example
 * tenantLimitsFromEnv((name) => process.env[name]) // { max_events_per_second: 10 } for TENANT_MAX_EVENTS_PER_SECOND=10
 */
export function tenantLimitsFromEnv(env: (name: string) => string | undefined): Partial<TenantLimits> {
  const values = parseEnv(TENANT_ENV, Object.fromEntries(NUMERIC_ENV.map(([, name]) => [name, env(name)])));
  const limits: Partial<Record<keyof TenantLimits, number>> = {};
  for (const [field, name] of NUMERIC_ENV) if (values[name] !== undefined) limits[field] = values[name];
  return limits as Partial<TenantLimits>;
}

export interface RateCounterOptions {
  /** Length of one bucket (upstream's channel counters: 5 s; the REST requests counter: 1 s). */
  tickMs: number;
  /** Buckets kept for the average (12 for the channel counters, 60 for requests). */
  maxBuckets: number;
  /** The average at which the limit is triggered; none for a plain counter. */
  limit?: number;
  /** Called once each time the limit becomes triggered (upstream logs there). */
  onTrigger?: () => void;
  /** A counter whose buckets are all zero at this check stops until used again (upstream: 5 min). */
  idleShutdownMs?: number;
}

/**
 * One upstream RateCounter: `add` counts, every tick the count becomes a bucket, `avg` is the
 * per-second average over the kept buckets and `triggered` follows the limit. It starts on
 * first use with one empty bucket (upstream ticks at once when it starts) and stops when idle.
 *
 * @example
 * const events = new RateCounter({ tickMs: 5000, maxBuckets: 12, limit: 100 });
 * events.add();
 * if (events.triggered) refuse();
 */
export class RateCounter {
  private pending = 0;
  private buckets: number[] = [];
  private average = 0;
  private limitTriggered = false;
  private timer: NodeJS.Timeout | undefined;
  private idleCheckAt = 0;

  constructor(private readonly options: RateCounterOptions) {}

  /** Counts `n` events in the current tick. */
  add(n = 1): void {
    this.start();
    this.pending += n;
  }

  /** Events per second over the kept buckets, as of the last tick. */
  get avg(): number {
    this.start();
    return this.average;
  }

  /** Whether the limit was reached at a tick and has not fallen below it since. */
  get triggered(): boolean {
    this.start();
    return this.limitTriggered;
  }

  /** Stops the ticks (the server closing); the next use starts afresh. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending = 0;
    this.buckets = [];
    this.average = 0;
    this.limitTriggered = false;
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
    this.idleCheckAt = Date.now() + (this.options.idleShutdownMs ?? 5 * 60_000);
    this.tick();
  }

  private tick(): void {
    const count = this.pending;
    this.pending = 0;
    this.buckets = [count, ...this.buckets].slice(0, this.options.maxBuckets);
    const sum = this.buckets.reduce((total, bucket) => total + bucket, 0);
    this.average = sum / this.buckets.length / (this.options.tickMs / 1000);
    const limit = this.options.limit;
    if (limit !== undefined) {
      if (this.limitTriggered && this.average < limit) this.limitTriggered = false;
      else if (!this.limitTriggered && this.average >= limit) {
        this.limitTriggered = true;
        this.options.onTrigger?.();
      }
    }
    if (Date.now() >= this.idleCheckAt) {
      if (this.buckets.every((bucket) => bucket === 0)) this.stop();
      else this.idleCheckAt = Date.now() + (this.options.idleShutdownMs ?? 5 * 60_000);
    }
  }
}

/** The counters of the (one) local tenant. */
export interface TenantCounters {
  /** Channel events: client broadcasts, REST and database broadcasts, each delivered copy. */
  events: RateCounter;
  joins: RateCounter;
  /** Presence syncs, tracks and delivered diffs; upstream checks its average, not a trigger. */
  presence: RateCounter;
  /** REST requests (upstream compares their average with max_events_per_second). */
  requests: RateCounter;
  stop(): void;
}

/**
 * Creates the tenant's counters; `tickMs` is upstream's 5 s (the requests counter ticks five
 * times as often, as upstream's 1 s against 5 s). The log calls carry upstream's log texts.
 *
 * @example
 * const counters = createTenantCounters(limits, { tickMs: 5000, log });
 */
export function createTenantCounters(
  limits: TenantLimits,
  options: { tickMs: number; log: { error(event: string, fields?: Record<string, unknown>): void } },
): TenantCounters {
  const { tickMs, log } = options;
  const events = new RateCounter({
    tickMs,
    maxBuckets: 12,
    limit: limits.max_events_per_second,
    onTrigger: () => log.error('rate_limit_reached', { code: 'MessagePerSecondRateLimitReached', message: 'Too many messages per second' }),
  });
  const joins = new RateCounter({
    tickMs,
    maxBuckets: 12,
    limit: limits.max_joins_per_second,
    onTrigger: () => log.error('rate_limit_reached', { code: 'ClientJoinRateLimitReached', message: 'Too many joins per second' }),
  });
  const presence = new RateCounter({
    tickMs,
    maxBuckets: 12,
    limit: limits.max_presence_events_per_second,
    onTrigger: () => log.error('rate_limit_reached', { code: 'PresenceRateLimitReached', message: 'Too many presence events per second' }),
  });
  const requests = new RateCounter({ tickMs: tickMs / 5, maxBuckets: 60 });
  return {
    events,
    joins,
    presence,
    requests,
    stop() {
      for (const counter of [events, joins, presence, requests]) counter.stop();
    },
  };
}
