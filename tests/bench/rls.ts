/**
 * Benchmark 1 — RLS at scale: with 100k projects and 1M memberships, list one user's
 * projects under RLS (role and claims set as PostgREST does) versus the same rows read as
 * service_role with an explicit membership filter; and time the Realtime join
 * authorization probe on the same data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type postgres from 'postgres';
import { repoRoot } from '../../devstack/db/setup.ts';
import { withRls } from '../../core/db/rls.ts';
import { median, timeRuns } from './stats.ts';

export const BENCH_USER_ID = '00000000-0000-4000-8000-000000000001';

export interface RlsFigures {
  projects: number;
  memberships: number;
  rows_listed: number;
  rls_ms: number;
  service_ms: number;
  rls_ratio: number;
  rls_probe_ms: number;
}

/** Loads sql/bench/scale-data.sql (as superuser) unless the data is already there. */
export async function loadScaleData(admin: postgres.Sql): Promise<void> {
  const [existing] = await admin<{ n: number }[]>`select count(*)::int as n from public.projects`;
  if ((existing?.n ?? 0) >= 100_000) return;
  await admin.unsafe(readFileSync(join(repoRoot, 'sql', 'bench', 'scale-data.sql'), 'utf8'));
  // A freshly bulk-loaded table has no visibility map: index-only scans would visit the
  // heap anyway. Autovacuum would get there; the benchmark does not wait for it.
  for (const table of ['auth.users', 'public.profiles', 'public.projects', 'public.project_members']) {
    await admin.unsafe(`vacuum (analyze) ${table}`);
  }
}

/** Only the benchmark user (for a run without the RLS and listing sections). */
export async function loadBenchUser(admin: postgres.Sql): Promise<void> {
  await admin`
    insert into auth.users (id, aud, role, email, created_at, updated_at)
    values (${BENCH_USER_ID}, 'authenticated', 'authenticated', 'bench-1@bench.tandem.dev', now(), now())
    on conflict do nothing`;
}

/**
 * Runs the comparison; each figure is the median of `runs` timed executions, the two
 * variants interleaved so that they see the same machine state.
 *
 * @example
 * const figures = await benchRls(admin, { runs: 200 });
 */
export async function benchRls(sql: postgres.Sql, options: { runs: number }): Promise<RlsFigures> {
  const claims = { sub: BENCH_USER_ID, role: 'authenticated', aud: 'authenticated', email: 'bench-1@bench.tandem.dev' };
  const [counts] = await sql<{ projects: number; memberships: number }[]>`
    select (select count(*)::int from public.projects) as projects,
           (select count(*)::int from public.project_members) as memberships`;

  const listUnderRls = () =>
    withRls(sql, claims, (tx) => tx`
      select p.id, p.name, p.description, p.created_at, p.updated_at
      from public.projects p`, { readOnly: true });
  const listAsService = () =>
    withRls(sql, { role: 'service_role' }, (tx) => tx`
      select p.id, p.name, p.description, p.created_at, p.updated_at
      from public.projects p
      where p.id in (select m.project_id from public.project_members m where m.user_id = ${BENCH_USER_ID})`, { readOnly: true });

  const viaRls = await listUnderRls();
  const viaService = await listAsService();
  if (viaRls.length !== viaService.length) {
    throw new Error(`RLS returned ${viaRls.length} rows but the explicit filter ${viaService.length}`);
  }

  const rlsTimes: number[] = [];
  const serviceTimes: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    rlsTimes.push(...(await timeRuns(1, listUnderRls)));
    serviceTimes.push(...(await timeRuns(1, listAsService)));
  }

  const topic = `project:00000000-0000-4000-9000-${(50000).toString(16).padStart(12, '0')}`;
  const probe = () => realtimeReadProbe(sql, topic, claims);
  const granted = await probe();
  if (!granted) throw new Error('the realtime probe denied a member');
  const probeTimes = await timeRuns(options.runs, probe);

  const rlsMs = median(rlsTimes);
  const serviceMs = median(serviceTimes);
  return {
    projects: counts?.projects ?? 0,
    memberships: counts?.memberships ?? 0,
    rows_listed: viaRls.length,
    rls_ms: round(rlsMs),
    service_ms: round(serviceMs),
    rls_ratio: round(rlsMs / serviceMs),
    rls_probe_ms: round(median(probeTimes)),
  };
}

/**
 * Supabase Realtime's join check: probe rows inserted as the admin, then the user's role,
 * topic and claims set and the probe ids selected, all rolled back.
 */
async function realtimeReadProbe(sql: postgres.Sql, topic: string, claims: Record<string, unknown>): Promise<boolean> {
  let visible = 0;
  await sql
    .begin(async (tx) => {
      const probes = await tx<{ id: string }[]>`
        insert into realtime.messages (topic, extension, private, payload)
        values (${topic}, 'broadcast', true, '{}'), (${topic}, 'presence', true, '{}')
        returning id`;
      await tx`select set_config('role', 'authenticated', true),
                      set_config('realtime.topic', ${topic}, true),
                      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                      set_config('request.jwt.claim.sub', ${String(claims.sub)}, true),
                      set_config('request.jwt.claim.role', 'authenticated', true)`;
      const rows = await tx<{ id: string }[]>`
        select id from realtime.messages where id in ${tx(probes.map((p) => p.id))}`;
      visible = rows.length;
      throw new RollbackProbe();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RollbackProbe)) throw error;
    });
  return visible > 0;
}

class RollbackProbe extends Error {}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
