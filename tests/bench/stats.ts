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

/** What an open-loop run measured. */
export interface OpenLoopFigures {
  sent: number;
  /** Answers that were not 2xx, and requests that failed outright. */
  errors: number;
  p50_ms: number;
  p99_ms: number;
}

/**
 * Latency at a given request rate with Poisson arrivals (an open loop, like independent
 * clients): each request is sent at its scheduled time whatever the earlier ones are
 * doing, and its latency counts from that scheduled time, so a stall delays the requests
 * behind it and shows in the tail (no coordinated omission). Connections come from
 * fetch's keep-alive pool, as many as overlapping requests need.
 *
 * @example
 * const figures = await openLoopLatency({ rate: 100, seconds: 10, send: () => fetch(url) });
 */
export async function openLoopLatency(options: {
  rate: number;
  seconds: number;
  send: () => Promise<Response>;
  random?: () => number;
}): Promise<OpenLoopFigures> {
  const random = options.random ?? Math.random;
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  let errors = 0;
  const start = performance.now();
  let scheduled = start;
  for (;;) {
    scheduled += (-Math.log(1 - random()) / options.rate) * 1000;
    if (scheduled - start > options.seconds * 1000) break;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const due = scheduled;
    inFlight.push(
      options.send().then(
        async (response) => {
          await response.arrayBuffer();
          if (response.status >= 300) errors += 1;
          latencies.push(performance.now() - due);
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return {
    sent: inFlight.length,
    errors,
    p50_ms: Math.round(percentile(latencies, 50) * 10) / 10,
    p99_ms: Math.round(percentile(latencies, 99) * 10) / 10,
  };
}
