/**
 * Retry delays: exponential in the attempt number, capped, with "equal jitter" (half the
 * delay fixed, half random) so that jobs failing together do not retry in lockstep.
 */

/**
 * The delay before attempt `failedAttempt + 1`, in milliseconds.
 *
 * @example
 * retryDelay(1, { baseMs: 1000, maxMs: 60_000 }) // between 500 and 1000
 * retryDelay(3, { baseMs: 1000, maxMs: 60_000 }) // between 2000 and 4000
 */
export function retryDelay(failedAttempt: number, options: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(failedAttempt - 1, 30));
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
