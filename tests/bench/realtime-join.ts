/**
 * Measurement (not a test): how long a private-channel join takes — token check and RLS
 * authorization included — with 100k memberships in the database.
 *
 *   npx tsx tests/bench/realtime-join.ts            # throwaway cluster
 *   TANDEM_TEST_DATABASE_URL=postgres://... npx tsx tests/bench/realtime-join.ts
 *
 * Seeds 5,000 projects x 20 members (20,000 users), starts the local Realtime in-process,
 * and times sequential phx_join → phx_reply(ok) round trips over a raw 2.0.0 socket.
 */
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { createLogger } from '../../core/log.ts';
import { parseFlags, runCommand } from '../../devstack/config/cli.ts';
import { setupDatabase } from '../../devstack/db/setup.ts';
import { startCluster, type Cluster } from '../../devstack/postgres/cluster.ts';
import { createRealtimeServer } from '../../devstack/realtime/server.ts';

const SECRET = 'realtime-join-secret-with-at-least-32-characters!!';
const PROJECTS = 5_000;
const MEMBERS_PER_PROJECT = 20;
const USERS = 20_000;
const JOINS = 300;

async function sign(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 3600, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
}

async function main(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  let cluster: Cluster | undefined;
  const url = process.env.TANDEM_TEST_DATABASE_URL ?? (cluster = await startCluster()).url;
  try {
    await setupDatabase({ url });
    const sql = postgres(url, { max: 4, onnotice: () => undefined });
    const seedStart = performance.now();
    await sql`
      insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      select gen_random_uuid(), 'authenticated', 'authenticated', 'measure-' || g || '-' || gen_random_uuid() || '@test.tandem.dev', now(), '{}', '{}', now(), now()
      from generate_series(1, ${USERS}) g`;
    await sql`
      create temporary table measure_users on commit preserve rows as
      select id, row_number() over (order by id) as n from auth.users where email like 'measure-%'`;
    await sql`insert into public.projects (name) select 'measure ' || g from generate_series(1, ${PROJECTS}) g`;
    // 20 members per project: project p gets users (p*7 + k*1000) mod USERS, k = 0..19 (no duplicates).
    await sql`
      with p as (select id, row_number() over (order by id) as n from public.projects where name like 'measure %')
      insert into public.project_members (project_id, user_id, role)
      select p.id, u.id, case when k = 0 then 'owner'::public.project_role else 'viewer'::public.project_role end
      from p cross join generate_series(0, ${MEMBERS_PER_PROJECT - 1}) k
      join measure_users u on u.n = ((p.n * 7 + k * 1000) % ${USERS}) + 1`;
    const [{ count }] = (await sql`select count(*)::int as count from public.project_members`) as unknown as [{ count: number }];
    const samples = await sql<{ project_id: string; user_id: string }[]>`
      select project_id, user_id from public.project_members order by random() limit ${JOINS}`;
    await sql`analyze`;
    process.stdout.write(`seeded ${count} memberships in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);

    const realtime = await createRealtimeServer({
      databaseUrl: url,
      jwt: { jwtSecret: SECRET },
      logger: createLogger({}, { level: 'error' }),
      joinErrorBackoffMs: 0,
    });
    const { url: wsUrl } = await realtime.listen(0);
    const socket = new WebSocket(`${wsUrl}?apikey=${await sign({ role: 'anon' })}&vsn=2.0.0`);
    await new Promise((resolve) => socket.once('open', resolve));
    const pending = new Map<string, (reply: unknown[]) => void>();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as unknown[];
      if (message[3] === 'phx_reply' && typeof message[1] === 'string') pending.get(message[1])?.(message);
    });
    const durations: number[] = [];
    let ref = 0;
    for (const sample of samples) {
      const token = await sign({ sub: sample.user_id, role: 'authenticated', aud: 'authenticated' });
      const joinRef = String(++ref);
      const topic = `realtime:project:${sample.project_id}`;
      const started = performance.now();
      const reply = await new Promise<unknown[]>((resolve) => {
        pending.set(joinRef, resolve);
        socket.send(JSON.stringify([joinRef, joinRef, topic, 'phx_join', { config: { private: true, presence: { key: sample.user_id, enabled: true }, broadcast: { self: false, ack: false } }, access_token: token }]));
      });
      durations.push(performance.now() - started);
      if ((reply[4] as { status: string }).status !== 'ok') throw new Error(`join refused: ${JSON.stringify(reply)}`);
      socket.send(JSON.stringify([joinRef, String(++ref), topic, 'phx_leave', {}]));
    }
    durations.sort((a, b) => a - b);
    const pick = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!.toFixed(2);
    const mean = (durations.reduce((a, b) => a + b, 0) / durations.length).toFixed(2);
    process.stdout.write(
      `${JOINS} private joins (presence + broadcast read checks) with ${count} memberships: ` +
        `mean ${mean} ms, p50 ${pick(0.5)} ms, p95 ${pick(0.95)} ms, p99 ${pick(0.99)} ms, max ${pick(1)} ms\n`,
    );
    socket.close();
    await realtime.close();
    await sql.end();
  } finally {
    await cluster?.destroy();
  }
}

runCommand('realtime-join', main);
