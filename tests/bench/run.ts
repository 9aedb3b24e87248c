/**
 * `npm run bench`: measures Tandem against its goals on its own throwaway PostgreSQL
 * (fsync on, as in production) and Redis. Prints a table, writes docs/benchmarks.md and
 * ends with one JSON line of the headline figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { z } from 'zod';
import { integerText, integerVar, listVar, parseEnv, parseFlags, UsageError } from '../../devstack/config/cli.ts';
import { repoRoot, setupDatabase, withUser } from '../../devstack/db/setup.ts';
import { findPostgresBinDir, startCluster } from '../../devstack/postgres/cluster.ts';
import { startRedisServer } from '../../devstack/redis/server.ts';
import { SignJWT } from 'jose';
import { startFunctions } from '../../devstack/functions/serve.ts';
import { functionEnv } from '../harness/function-env.ts';
import { benchJobs } from './jobs.ts';
import { benchDataApi } from './data-api.ts';
import { benchColdStart, benchListing } from './listing.ts';
import { BENCH_USER_ID, benchRls, loadBenchUser, loadScaleData } from './rls.ts';

const JWT_SECRET = 'tandem-bench-secret-at-least-32-characters-long';

/** One measured figure, judged against its goal where it has one. */
export interface Figure {
  key: string;
  label: string;
  value: number;
  unit: string;
  goal?: { text: string; met: boolean };
}

function pgbenchCommitRate(url: string): number {
  const bin = findPostgresBinDir();
  if (!bin) return Number.NaN;
  const target = new URL(url);
  const common = ['-h', target.hostname, '-p', target.port, '-U', 'supabase_admin'];
  execFileSync(join(bin, 'pgbench'), [...common, '-i', '-q', '-s', '1', 'pgbench'], { stdio: 'ignore' });
  const output = execFileSync(join(bin, 'pgbench'), [...common, '-N', '-c', '8', '-j', '2', '-T', '10', 'pgbench'], {
    encoding: 'utf8',
  });
  const tps = /tps = ([\d.]+)/.exec(output);
  return tps ? Number(tps[1]) : Number.NaN;
}

function machineDescription(): string[] {
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '?';
    } catch {
      return 'not found';
    }
  };
  return [
    `- cores: ${cpus().length} (${cpus()[0]?.model ?? 'unknown'})`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- node: ${process.version}; deno: ${version(join(repoRoot, 'node_modules', '.bin', 'deno'), ['--version'])}`,
    `- postgres: ${version(join(findPostgresBinDir() ?? '', 'postgres'), ['--version'])}; redis: ${version('redis-server', ['--version'])}`,
  ];
}

function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => [f.label, `${f.value} ${f.unit}`, f.goal ? `${f.goal.text} — ${f.goal.met ? 'met' : 'MISSED'}` : '']);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length), 6));
  return rows.map((r) => r.map((cell, i) => (cell ?? '').padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

/** Hand-written analysis below this marker in docs/benchmarks.md survives each run. */
const ANALYSIS_MARKER = '<!-- analysis: kept across runs -->';

function writeReport(figures: Figure[], notes: string[]): void {
  const path = join(repoRoot, 'docs', 'benchmarks.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const analysis = previous.includes(ANALYSIS_MARKER) ? previous.slice(previous.indexOf(ANALYSIS_MARKER)) : `${ANALYSIS_MARKER}\n`;
  const lines = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Each figure is a median of repeated runs;`,
    'compared figures are measured side by side in the same run, on a throwaway PostgreSQL with fsync on.',
    '',
    '## Machine',
    ...machineDescription(),
    '',
    '## Figures',
    '',
    '| figure | value | goal |',
    '|---|---|---|',
    ...figures.map((f) => `| ${f.label} | ${f.value} ${f.unit} | ${f.goal ? `${f.goal.text} — ${f.goal.met ? 'met' : '**missed**'}` : ''} |`),
    '',
    ...notes,
    '',
    analysis.trimEnd(),
  ];
  mkdirSync(join(repoRoot, 'docs'), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

async function benchToken(): Promise<string> {
  return new SignJWT({ sub: BENCH_USER_ID, role: 'authenticated', aud: 'authenticated', email: 'bench-1@bench.tandem.dev' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** The sections of the benchmark, in the order they run. */
const BENCH_SECTIONS = ['rls', 'cold-start', 'listing', 'data-api', 'jobs', 'pgbench'] as const;
type BenchSection = (typeof BENCH_SECTIONS)[number];

const benchEnv = z.object({
  TANDEM_BENCH_RUNS: integerVar(200),
  TANDEM_BENCH_JOBS: integerVar(20_000),
  TANDEM_BENCH_SECONDS: integerVar(10),
  TANDEM_BENCH_ROUNDS: integerVar(3),
  TANDEM_BENCH_CONCURRENCIES: listVar(integerText()),
  // TANDEM_BENCH_ONLY=jobs,cold-start runs only those sections (for profiling one figure);
  // such a partial run prints its figures but leaves docs/benchmarks.md alone.
  TANDEM_BENCH_ONLY: listVar(z.enum(BENCH_SECTIONS, { error: `lists a section that does not exist (sections: ${BENCH_SECTIONS.join(', ')})` })),
});

async function main(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  const settings = parseEnv(benchEnv, process.env);
  const runs = settings.TANDEM_BENCH_RUNS;
  const jobCount = settings.TANDEM_BENCH_JOBS;
  const loadSeconds = settings.TANDEM_BENCH_SECONDS;
  const only = settings.TANDEM_BENCH_ONLY ? new Set(settings.TANDEM_BENCH_ONLY) : undefined;
  const selected = (section: BenchSection) => !only || only.has(section);
  const concurrencies = settings.TANDEM_BENCH_CONCURRENCIES ?? [1, 8, 32];
  const cluster = await startCluster({ fsync: true, settings: { max_connections: 400 } });
  const redis = await startRedisServer();
  const figures: Figure[] = [];
  const notes: string[] = [];
  const step = (line: string) => process.stderr.write(`bench: ${line}\n`);
  try {
    await setupDatabase({ url: cluster.url });
    const admin = postgres(cluster.url, { max: 4, onnotice: () => undefined });
    const serviceDbUrl = withUser(cluster.url, 'postgres');
    const env = functionEnv({ databaseUrl: serviceDbUrl, redisUrl: redis.url, jwtSecret: JWT_SECRET, underLoad: true });
    try {
      if (selected('rls') || selected('listing') || selected('data-api')) {
        step('loading 100k projects / 1M memberships…');
        await loadScaleData(admin);
      } else {
        await loadBenchUser(admin);
      }
      if (selected('rls')) {
        step('RLS at scale…');
        const rls = await benchRls(admin, { runs });
        figures.push(
          { key: 'rls_ms', label: `list ${rls.rows_listed} projects under RLS`, value: rls.rls_ms, unit: 'ms' },
          { key: 'service_ms', label: 'same rows as service_role + explicit filter', value: rls.service_ms, unit: 'ms' },
          { key: 'rls_ratio', label: 'RLS / explicit filter', value: rls.rls_ratio, unit: '×', goal: { text: '≤ 1.5', met: rls.rls_ratio <= 1.5 } },
          { key: 'rls_probe_ms', label: 'Realtime join authorization probe', value: rls.rls_probe_ms, unit: 'ms', goal: { text: '≤ 2 ms', met: rls.rls_probe_ms <= 2 } },
        );
        notes.push(`Data: ${rls.projects} projects, ${rls.memberships} memberships (sql/bench/scale-data.sql).`);
      }

      if (selected('cold-start')) {
        step('cold start…');
        const coldStart = await benchColdStart(env, 5);
        const coldStartMs = Math.max(...Object.values(coldStart));
        figures.push({
          key: 'cold_start_ms', label: `cold start (slowest of ${Object.entries(coldStart).map(([n, ms]) => `${n} ${ms} ms`).join(', ')})`,
          value: coldStartMs, unit: 'ms', goal: { text: '≤ 300 ms', met: coldStartMs <= 300 },
        });
      }

      const token = await benchToken();
      if (selected('listing')) {
        step('listing through the function…');
        const cachedFunctions = await startFunctions({ port: 0, env, functions: ['projects'] });
        const uncachedFunctions = await startFunctions({ port: 0, env: { ...env, TANDEM_LISTING_CACHE: 'off' }, functions: ['projects'] });
        try {
          // Straight at each Deno function (as the Supabase edge runtime serves it), not through
          // the devstack's Node proxy, which would share this process with the load generator.
          const listing = await benchListing({
            cachedUrl: cachedFunctions.directUrls.projects as string,
            uncachedUrl: uncachedFunctions.directUrls.projects as string,
            token, seconds: loadSeconds, rounds: 3,
          });
          const { cached, uncached, health } = listing;
          figures.push(
            { key: 'health_rps', label: 'GET /projects/health', value: health.rps, unit: `req/s (p50 ${health.p50_ms} ms, p99 ${health.p99_ms} ms)` },
            { key: 'cached_rps', label: 'GET /projects cached (100 projects)', value: cached.rps, unit: `req/s (p50 ${cached.p50_ms} ms, p99 ${cached.p99_ms} ms)`,
              goal: { text: '≥ 60% of health and ≥ 5× uncached', met: cached.rps >= 0.6 * health.rps && cached.rps >= 5 * uncached.rps } },
            { key: 'uncached_rps', label: 'GET /projects uncached', value: uncached.rps, unit: `req/s (p50 ${uncached.p50_ms} ms, p99 ${uncached.p99_ms} ms)` },
          );
          if (cached.errors + uncached.errors + health.errors > 0) notes.push(`Listing load errors: cached ${cached.errors}, uncached ${uncached.errors}, health ${health.errors}.`);
        } finally {
          await cachedFunctions.stop();
          await uncachedFunctions.stop();
        }
      }

      if (selected('data-api')) {
        step('the local Data API…');
        const api = await benchDataApi({ dbUrl: serviceDbUrl, jwtSecret: JWT_SECRET, token, runs, seconds: loadSeconds });
        const uncached = figures.find((f) => f.key === 'uncached_rps');
        figures.push(
          { key: 'data_api_ms', label: `Data API from('projects').select('${api.select}'), ${api.rows} rows`, value: api.api_ms, unit: 'ms' },
          { key: 'data_api_sql_ms', label: 'same rows as one SQL statement under RLS (withRls: BEGIN, role and claims, statement, COMMIT)', value: api.sql_ms, unit: 'ms' },
          { key: 'data_api_ratio', label: 'Data API / SQL statement', value: api.ratio, unit: '×', goal: { text: '≤ 2', met: api.ratio <= 2 } },
          {
            key: 'data_api_rps', label: `Data API under 50 connections${uncached ? ` (uncached function listing: ${uncached.value} req/s)` : ''}`,
            value: api.rps, unit: `req/s (p50 ${api.p50_ms} ms, p99 ${api.p99_ms} ms)`,
          },
        );
        if (api.errors > 0) notes.push(`Data API load errors: ${api.errors}.`);
      }

      if (selected('jobs')) {
        step(`jobs (${jobCount} per measurement)…`);
        const jobsFunction = await startFunctions({ port: 0, env, functions: ['jobs'] });
        try {
          const jobs = await benchJobs({
            sql: admin, functionsUrl: jobsFunction.directUrls.jobs as string, token, ownerId: BENCH_USER_ID, serviceDbUrl, redisUrl: redis.url,
            count: jobCount, concurrencies, rounds: settings.TANDEM_BENCH_ROUNDS,
          });
          const bestWorker = Math.max(...Object.values(jobs.worker_per_s));
          const bestRaw = Math.max(...Object.values(jobs.raw_bullmq_per_s));
          figures.push(
            { key: 'jobs_e2e_per_s', label: `${jobCount} jobs: POST /jobs to succeeded`, value: jobs.jobs_e2e_per_s, unit: 'jobs/s', goal: { text: '≥ 1,000 jobs/s', met: jobs.jobs_e2e_per_s >= 1000 } },
            { key: 'submit_rps', label: 'POST /jobs saturation (50 connections)', value: jobs.submit_saturation_rps, unit: 'req/s' },
            { key: 'submit_p50_ms', label: 'POST /jobs p50 at 1/4 saturation (Poisson arrivals)', value: jobs.submit_p50_ms, unit: 'ms' },
            { key: 'submit_p99_ms', label: `POST /jobs p99 at 1/4 saturation (Poisson arrivals; runs: ${jobs.submit_p99_runs_ms.join(' / ')} ms)`, value: jobs.submit_p99_ms, unit: 'ms', goal: { text: '≤ 15 ms', met: jobs.submit_p99_ms <= 15 } },
            { key: 'submit_burst_p99_ms', label: `POST /jobs p99 at 1/4 saturation, autocannon's 10 connections in step (p50 ${jobs.submit_burst_p50_ms} ms)`, value: jobs.submit_burst_p99_ms, unit: 'ms' },
            { key: 'worker_per_s', label: `worker alone with status writes (c=${concurrencies.join('/')}: ${Object.values(jobs.worker_per_s).join('/')})`, value: bestWorker, unit: 'jobs/s',
              goal: { text: '≥ 50% of raw BullMQ', met: bestWorker >= 0.5 * bestRaw } },
            { key: 'raw_bullmq_per_s', label: `raw BullMQ no-op (c=${concurrencies.join('/')}: ${Object.values(jobs.raw_bullmq_per_s).join('/')})`, value: bestRaw, unit: 'jobs/s' },
          );
        } finally {
          await jobsFunction.stop();
        }
      }
      if (selected('pgbench')) await admin`create database pgbench`;
    } finally {
      await admin.end();
    }
    if (selected('pgbench')) {
      step('pgbench…');
      const commitRate = pgbenchCommitRate(cluster.url);
      figures.push({ key: 'pgbench_tps', label: 'pgbench -N (commit-rate ceiling)', value: Math.round(commitRate), unit: 'tps' });
    }
  } finally {
    await redis.stop();
    await cluster.destroy();
  }

  if (!only) writeReport(figures, notes);
  process.stdout.write(`${formatTable(figures)}\n`);
  process.stdout.write(`${JSON.stringify(Object.fromEntries(figures.map((f) => [f.key, f.value])))}\n`);
}

main().then(() => process.exit(0), (error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
