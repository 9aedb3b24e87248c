/**
 * Benchmark 5 — the local Data API (devstack/rest) for a user with 100 projects:
 * `from('projects').select('*, project_members(count)')` as supabase-js sends it, against
 * the same rows built by one SQL statement under RLS (role and claims as PostgREST sets
 * them), sequential requests interleaved with sequential statements; and its throughput
 * under autocannon's 50 connections, beside the projects function's uncached listing.
 * Until the Data API serves embeds (it answers 501 PGRST127 for them), the request is
 * `select=*` and the statement reads the projects alone; the figures say which ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type postgres from 'postgres';
import { withRls } from '../../core/db/rls.ts';
import { repoRoot } from '../../devstack/db/setup.ts';
import { median, timeRuns } from './stats.ts';

export interface DataApiFigures {
  /** The select that ran: '*, project_members(count)' or '*' (no embeds yet). */
  select: string;
  rows: number;
  api_ms: number;
  sql_ms: number;
  ratio: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

async function startServer(dbUrl: string, jwtSecret: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(repoRoot, 'tests', 'bench', 'data-api-server.ts')], {
    env: { ...process.env, TANDEM_BENCH_DB_URL: dbUrl, TANDEM_BENCH_JWT_SECRET: jwtSecret },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the Data API process exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/rest/v1`, child };
}

const EMBED_SELECT = '*, project_members(count)';

/**
 * @example
 * const figures = await benchDataApi({ sql: admin, dbUrl: serviceDbUrl, jwtSecret, token, userId, runs: 200, seconds: 10 });
 */
export async function benchDataApi(options: {
  sql: postgres.Sql;
  /** The Data API's connection (as `postgres`, standing in for authenticator). */
  dbUrl: string;
  jwtSecret: string;
  token: string;
  userId: string;
  runs: number;
  seconds: number;
}): Promise<DataApiFigures> {
  const { url, child } = await startServer(options.dbUrl, options.jwtSecret);
  try {
    const headers = { authorization: `Bearer ${options.token}`, apikey: options.token, accept: 'application/json' };
    const request = (select: string) => fetch(`${url}/projects?select=${encodeURIComponent(select)}`, { headers });
    const probe = await request(EMBED_SELECT);
    await probe.arrayBuffer();
    const select = probe.status === 200 ? EMBED_SELECT : '*';
    const claims = { sub: options.userId, role: 'authenticated', aud: 'authenticated', email: 'bench-1@bench.tandem.dev' };
    const statement = () =>
      withRls(options.sql, claims, (tx) =>
        select === EMBED_SELECT
          ? tx`select coalesce(json_agg(t), '[]')::text as body from (
                 select p.*, json_build_array(json_build_object('count', (select count(*) from public.project_members m where m.project_id = p.id))) as project_members
                 from public.projects p) t`
          : tx`select coalesce(json_agg(p), '[]')::text as body from public.projects p`,
        { readOnly: true });

    const viaApi = (await (await request(select)).json()) as unknown[];
    const [viaSql] = await statement();
    const rows = JSON.parse(String(viaSql?.body)) as unknown[];
    if (viaApi.length !== rows.length) throw new Error(`the Data API returned ${viaApi.length} rows but the statement ${rows.length}`);

    const apiTimes: number[] = [];
    const sqlTimes: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      apiTimes.push(...(await timeRuns(1, async () => (await request(select)).arrayBuffer())));
      sqlTimes.push(...(await timeRuns(1, statement)));
    }
    const api_ms = Math.round(median(apiTimes) * 100) / 100;
    const sql_ms = Math.round(median(sqlTimes) * 100) / 100;

    const load = await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon({ url: `${url}/projects?select=${encodeURIComponent(select)}`, headers, connections: 50, duration: options.seconds }, (error, result) => (error ? reject(error) : resolve(result)));
    });
    return {
      select,
      rows: rows.length,
      api_ms,
      sql_ms,
      ratio: Math.round((api_ms / sql_ms) * 100) / 100,
      rps: Math.round(load.requests.average),
      p50_ms: load.latency.p50,
      p99_ms: load.latency.p99,
      errors: load.errors + load.non2xx,
    };
  } finally {
    child.kill('SIGTERM');
  }
}
