/**
 * Small statistics helpers for the benchmarks.
 */
import { performance } from 'node:perf_hooks';

/**
 * The median of a list of numbers (NaN for an empty list).
 *
 * @example
 * median([3, 1, 2]) // 2
 */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * The p-th percentile (nearest rank) of a list of numbers.
 *
 * @example
 * percentile([1, 2, 3, 4], 99) // 4
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Runs `fn` `runs` times in sequence and returns each duration in milliseconds.
 *
 * @example
 * const times = await timeRuns(100, () => sql`select 1`);
 */
export async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}
