/**
 * In-memory per-key token buckets, like the limiter GoTrue uses per IP: `max` requests per
 * window, refilled continuously, so a burst of `max` is allowed and then one request every
 * `windowMs / max`. Good enough for a single-process development server.
 */

export interface RateLimit {
  /** Requests allowed per window (and the burst size). */
  max: number;
  windowMs: number;
}

export interface RateLimiter {
  /** Takes one request for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Creates a limiter for one kind of request.
 *
 * @example
 * const signUps = createRateLimiter({ max: 30, windowMs: 5 * 60_000 });
 * const waitSeconds = signUps.take(ip);
 * if (waitSeconds > 0) reply429(waitSeconds);
 */
export function createRateLimiter(limit: RateLimit, now: () => number = Date.now): RateLimiter {
  if (!(limit.max > 0) || !(limit.windowMs > 0)) throw new Error('a rate limit needs max > 0 and windowMs > 0');
  const perMs = limit.max / limit.windowMs;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(limit.max, bucket.tokens + (at - bucket.updatedAt) * perMs);
    bucket.updatedAt = at;
  };

  return {
    take(key) {
      const at = now();
      // Forget full buckets now and then, so the map does not grow with every client seen.
      if (buckets.size > 10_000) {
        for (const [k, bucket] of buckets) {
          refill(bucket, at);
          if (bucket.tokens >= limit.max) buckets.delete(k);
        }
      }
      const bucket = buckets.get(key) ?? { tokens: limit.max, updatedAt: at };
      refill(bucket, at);
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
  };
}
