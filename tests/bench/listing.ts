/**
 * Benchmark 2 — the project listing through the `projects` function for a user with 100
 * projects, with autocannon at 50 connections: cached GET /projects, the same with the
 * cache switched off (every request queries Postgres under RLS), and /projects/health as
 * the function's own ceiling. Benchmark 4 — cold start of each function.
 */
import autocannon from 'autocannon';
import { FUNCTION_NAMES, startFunctions, type FunctionName } from '../../devstack/functions/serve.ts';
import { median } from './stats.ts';

export interface LoadFigures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

export interface ListingFigures {
  cached: LoadFigures;
  uncached: LoadFigures;
  health: LoadFigures;
}

function load(url: string, headers: Record<string, string>, seconds: number): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections: 50, duration: seconds }, (error, result) => {
      if (error) return reject(error);
      resolve({
        rps: Math.round(result.requests.average),
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        errors: result.errors + result.non2xx,
      });
    });
  });
}

/**
 * Runs each load `rounds` times, interleaved, and keeps the median round of each.
 *
 * @example
 * const figures = await benchListing({ cachedUrl, uncachedUrl, token, seconds: 10, rounds: 3 });
 */
export async function benchListing(options: {
  cachedUrl: string;
  uncachedUrl: string;
  token: string;
  seconds: number;
  rounds: number;
}): Promise<ListingFigures> {
  const auth = { authorization: `Bearer ${options.token}` };
  const rounds: ListingFigures[] = [];
  for (let round = 0; round < options.rounds; round++) {
    rounds.push({
      health: await load(`${options.cachedUrl}/projects/health`, {}, options.seconds),
      cached: await load(`${options.cachedUrl}/projects`, auth, options.seconds),
      uncached: await load(`${options.uncachedUrl}/projects`, auth, options.seconds),
    });
  }
  const pick = (key: keyof ListingFigures): LoadFigures => {
    const sorted = rounds.map((r) => r[key]).sort((a, b) => a.rps - b.rps);
    return sorted[Math.floor(sorted.length / 2)] as LoadFigures;
  };
  return { cached: pick('cached'), uncached: pick('uncached'), health: pick('health') };
}

/**
 * Median cold start of each function: from spawning Deno to the first answered request.
 * Each function starts alone, as the edge runtime cold-starts one function on its first
 * request; starting both at once would measure two processes sharing this machine's two
 * cores (335–353 ms here, against ~100 ms alone).
 *
 * @example
 * const coldStart = await benchColdStart(env, 5); // { projects: 105, jobs: 98 }
 */
export async function benchColdStart(env: Record<string, string | undefined>, runs: number): Promise<Record<FunctionName, number>> {
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    for (const name of FUNCTION_NAMES) {
      const functions = await startFunctions({ port: 0, env, functions: [name] });
      (samples[name] ??= []).push(functions.coldStartMs[name] as number);
      await functions.stop();
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Math.round(median(values))])) as Record<
    FunctionName,
    number
  >;
}
