/**
 * Benchmark 5 — the local Data API (devstack/rest) for a user with 100 projects:
 * `from('projects').select('*, project_members(count)')` as supabase-js sends it, against
 * the same rows built by one SQL statement under RLS; sequential requests interleaved with
 * sequential statements; and its throughput under autocannon's 50 connections, beside the
 * projects function's uncached listing.
 *
 * What each side's time includes:
 * - the Data API: a fetch over a kept-alive loopback connection to the Data API in its own
 *   process (data-api-server.ts), which parses the request, verifies the token, plans and
 *   builds the read, and runs PostgREST's transaction (BEGIN READ ONLY; one set_config
 *   statement for role, claims, search_path, the role's settings and request.method/path/
 *   headers/cookies; the read; COMMIT), then answers; until the client has read the body.
 * - the statement: withRls on a pool like the Data API's (same role, same pool options):
 *   BEGIN READ ONLY; set_config of role and the token's own claims; one hand-written
 *   statement building the same JSON (checked equal below); COMMIT; the body read as text.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { decodeJwt } from 'jose';
import postgres from 'postgres';
import { withRls } from '../../core/db/rls.ts';
import { repoRoot } from '../../devstack/db/setup.ts';
import { DATA_API_POOL_OPTIONS } from './data-api-pool.ts';
import { median, timeRuns } from './stats.ts';

export interface DataApiFigures {
  /** The select that ran. */
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
const WARM_UP_RUNS = 200;

/**
 * @example
 * const figures = await benchDataApi({ dbUrl: serviceDbUrl, jwtSecret, token, runs: 200, seconds: 10 });
 */
export async function benchDataApi(options: {
  /** The Data API's connection (as `postgres`, standing in for authenticator). */
  dbUrl: string;
  jwtSecret: string;
  token: string;
  runs: number;
  seconds: number;
}): Promise<DataApiFigures> {
  const { url, child } = await startServer(options.dbUrl, options.jwtSecret);
  const sql = postgres(options.dbUrl, DATA_API_POOL_OPTIONS);
  try {
    const headers = { authorization: `Bearer ${options.token}`, apikey: options.token, accept: 'application/json' };
    const endpoint = `${url}/projects?select=${encodeURIComponent(EMBED_SELECT)}`;
    const request = () => fetch(endpoint, { headers });
    // The claims the Data API puts in request.jwt.claims: the token's own.
    const claims = decodeJwt(options.token);
    const statement = () =>
      withRls(sql, claims, (tx) => tx<{ body: string }[]>`
        select coalesce(json_agg(t), '[]')::text as body from (
          select p.*, json_build_array(json_build_object('count', (select count(*) from public.project_members m where m.project_id = p.id))) as project_members
          from public.projects p) t`, { readOnly: true });

    const probe = await request();
    if (probe.status !== 200) throw new Error(`the Data API answered ${probe.status} to select=${EMBED_SELECT}: ${await probe.text()}`);
    const byId = (rows: unknown) => [...(rows as { id: string }[])].sort((a, b) => a.id.localeCompare(b.id));
    const viaApi = byId(await probe.json());
    const [viaSql] = await statement();
    const rows = byId(JSON.parse(String(viaSql?.body)));
    if (!isDeepStrictEqual(viaApi, rows)) throw new Error(`the Data API and the statement disagree (${viaApi.length} and ${rows.length} rows)`);

    // Warm both sides up first (the server's JIT, both pools' connections), as the load
    // run below would: the figures are of the steady state, not of the first requests.
    for (let i = 0; i < WARM_UP_RUNS; i++) {
      await (await request()).arrayBuffer();
      await statement();
    }
    const apiTimes: number[] = [];
    const sqlTimes: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      apiTimes.push(...(await timeRuns(1, async () => (await request()).arrayBuffer())));
      sqlTimes.push(...(await timeRuns(1, statement)));
    }
    const api_ms = Math.round(median(apiTimes) * 100) / 100;
    const sql_ms = Math.round(median(sqlTimes) * 100) / 100;

    const load = await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon({ url: endpoint, headers, connections: 50, duration: options.seconds }, (error, result) => (error ? reject(error) : resolve(result)));
    });
    return {
      select: EMBED_SELECT,
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
    await sql.end({ timeout: 2 });
    child.kill('SIGTERM');
  }
}
