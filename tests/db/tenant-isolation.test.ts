/**
 * Property: zero leaks across tenants. Random users, projects, memberships, jobs and
 * invitations; then every user reads every table through `withRls` (exactly as PostgREST
 * and the edge functions do) and Realtime's join and write checks run for every project
 * topic (the devstack's implementation of Realtime's probe). What each user sees must be
 * EXACTLY what the role matrix allows.
 *
 * Property: no membership from re-inserting a project. Some members leave; then every user
 * re-inserts every project id of the world (ids are not secret: invitees and former members
 * know them) through each insert path PostgREST and SQL offer, mixed with new rows. The
 * memberships of the world's projects stay exactly as they were, and each user gains only
 * the owner membership of the new rows it really inserted.
 *
 * Other test files write to the same database concurrently. Every user here is fresh and
 * belongs only to this run's projects, so their visible sets are compared unfiltered.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { authorizeRead, authorizeWrite, emptyPolicies } from '../../devstack/realtime/authorization.ts';
import { withRls } from '../../core/db/rls.ts';
import { adminSql, claimsFor, testDatabases, type Sql } from '../harness/db.ts';
import { buildWorld, tearDownWorld, worldArb, type Built, type Role } from './tenant-world.ts';

/** The database of the running `describe` block (both of tests/harness/db.ts's, in turn). */
let sql: Sql;

/** What user u may see, per the role matrix. */
function expected(built: Built, u: number) {
  const memberOf = built.projectIds.map((_, p) => built.roles[p]![u] !== null);
  const projects = built.projectIds.filter((_, p) => memberOf[p]);
  const coMembers = new Set<string>([built.userIds[u]!]);
  const members: string[] = [];
  for (const [p, projectId] of built.projectIds.entries()) {
    if (!memberOf[p]) continue;
    for (const [v, role] of built.roles[p]!.entries()) {
      if (role === null) continue;
      coMembers.add(built.userIds[v]!);
      members.push(`${projectId}/${built.userIds[v]}/${role}`);
    }
  }
  return {
    profiles: [...coMembers].sort(),
    projects: [...projects].sort(),
    members: members.sort(),
    invitations: built.invitationIds.flatMap((ids, p) => (built.roles[p]![u] === 'owner' ? ids : [])).sort(),
    jobs: built.jobIds.flatMap((ids, p) => (memberOf[p] ? ids : [])).sort(),
    realtime: built.projectIds.map((_, p) => {
      const role = built.roles[p]![u] ?? null;
      return {
        read: { broadcast: role !== null, presence: role !== null },
        write: { broadcast: role === 'owner' || role === 'collaborator', presence: role !== null },
      };
    }),
  };
}

/** What user u actually sees, through withRls and Realtime's checks. */
async function observed(built: Built, u: number) {
  const claims = claimsFor(built.userIds[u]!, built.emails[u]!);
  const seen = await withRls(
    sql,
    claims,
    async (tx) => ({
      profiles: (await tx<{ id: string }[]>`select id from public.profiles`).map((r) => r.id).sort(),
      projects: (await tx<{ id: string }[]>`select id from public.projects`).map((r) => r.id).sort(),
      members: (await tx<{ k: string }[]>`select project_id || '/' || user_id || '/' || role as k from public.project_members`)
        .map((r) => r.k)
        .sort(),
      invitations: (await tx<{ id: string }[]>`select id from public.project_invitations`).map((r) => r.id).sort(),
      jobs: (await tx<{ id: string }[]>`select id from public.jobs`).map((r) => r.id).sort(),
    }),
    { readOnly: true },
  );
  const realtime = [];
  for (const projectId of built.projectIds) {
    const context = { topic: `project:${projectId}`, claims: { ...claims, role: 'authenticated', exp: 0 }, headers: {} };
    const read = await authorizeRead(sql, emptyPolicies(), context, ['broadcast', 'presence']);
    const write = await authorizeWrite(sql, emptyPolicies(), context, ['broadcast', 'presence']);
    realtime.push({
      read: { broadcast: read.broadcast.read, presence: read.presence.read },
      write: { broadcast: write.broadcast.write, presence: write.presence.write },
    });
  }
  return { ...seen, realtime };
}

/**
 * Insert paths aimed at an existing project id ($1), mixed with a new id ($2): the
 * statements PostgREST builds for supabase-js `upsert()` (ignore-duplicates and
 * merge-duplicates, with `.select()`), and the SQL forms of ON CONFLICT and MERGE.
 */
const reinsertPaths: string[] = [
  `insert into public.projects (id, name) values ($1, 'taken') on conflict do nothing`,
  `insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects,
       json_build_array(json_build_object('id', $1::uuid, 'name', 'taken'), json_build_object('id', $2::uuid, 'name', 'mine'))) b
     on conflict (id) do nothing returning id, name, created_by`,
  `insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects,
       json_build_array(json_build_object('id', $1::uuid, 'name', 'taken'), json_build_object('id', $2::uuid, 'name', 'mine'))) b
     on conflict (id) do update set id = excluded.id, name = excluded.name returning id`,
  `insert into public.projects (id, name) values ($2, 'mine'), ($1, 'taken') on conflict do nothing`,
  `insert into public.projects (id, name) values ($2, 'mine'), ($1, 'taken')
     on conflict (id) do update set name = excluded.name returning id`,
  `insert into public.projects (id, name) values ($2, 'mine'), ($1, 'taken')`,
  `merge into public.projects t using (values ($2::uuid, 'mine'), ($1::uuid, 'taken')) s (id, name)
     on t.id = s.id when not matched then insert (id, name) values (s.id, s.name)`,
];

/** Every membership of the given projects, as 'project/user/role', sorted. */
async function membershipsOf(projectIds: string[]): Promise<string[]> {
  if (projectIds.length === 0) return [];
  const rows = await sql<{ k: string }[]>`
    select project_id || '/' || user_id || '/' || role as k from public.project_members where project_id in ${sql(projectIds)}`;
  return rows.map((r) => r.k).sort();
}

/** The memberships the role matrix says the world has. */
function expectedMemberships(built: Built): string[] {
  return built.projectIds
    .flatMap((projectId, p) => built.roles[p]!.flatMap((role, u) => (role === null ? [] : [`${projectId}/${built.userIds[u]}/${role}`])))
    .sort();
}

describe.each(testDatabases())('on the database $label', ({ url }) => {
  beforeAll(() => {
    sql = adminSql({ url, max: 6 });
  });

  afterAll(async () => {
    await sql?.end();
  });

  test('every user sees exactly what the role matrix allows, on every table and channel', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const built = await buildWorld(sql, world);
        try {
          for (let u = 0; u < world.users; u++) {
            expect(await observed(built, u), `user ${u} of ${JSON.stringify(world)}`).toEqual(expected(built, u));
          }
        } finally {
          await tearDownWorld(sql, built);
        }
      }),
      { numRuns: 20 },
    );
  }, 120_000);

  test('re-inserting any project id it knows never gives a user a membership', async () => {
    const leaversArb = fc.array(fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), { minLength: 4, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(worldArb, leaversArb, async (world, leavers) => {
        const built = await buildWorld(sql, world);
        const fresh: string[] = [];
        try {
          // Former members: they leave (as themselves, through RLS) and keep the ids.
          for (const [p, projectId] of built.projectIds.entries()) {
            for (const [u, role] of built.roles[p]!.entries()) {
              if (role === null || u === world.projects[p]!.creator || !leavers[p]![u]) continue;
              await withRls(sql, claimsFor(built.userIds[u]!, built.emails[u]!), (tx) =>
                tx`delete from public.project_members where project_id = ${projectId} and user_id = ${built.userIds[u]!}`);
              built.roles[p]![u] = null;
            }
          }
          const before = await membershipsOf(built.projectIds);
          expect(before).toEqual(expectedMemberships(built));

          const attempted = new Map<number, string[]>();
          const outcomes = new Set<string>();
          for (const [u, userId] of built.userIds.entries()) {
            const mine: string[] = [];
            attempted.set(u, mine);
            await withRls(sql, claimsFor(userId, built.emails[u]!), async (tx) => {
              for (const projectId of built.projectIds) {
                for (const statement of reinsertPaths) {
                  const newId = randomUUID();
                  mine.push(newId);
                  // A refused statement rolls back its savepoint, as PostgREST rolls back the
                  // request; it may be refused only as a duplicate (23505) or by RLS / grants (42501).
                  const outcome = await tx.savepoint((sp) => sp.unsafe(statement, statement.includes('$2') ? [projectId, newId] : [projectId])).then(
                    () => 'ok',
                    (error: { code?: string }) => error.code ?? 'no code',
                  );
                  expect(['ok', '23505', '42501'], statement).toContain(outcome);
                  outcomes.add(outcome);
                }
              }
            });
            fresh.push(...mine);
          }

          // Some paths succeed (on conflict do nothing never fails), so the attack really ran.
          expect(outcomes).toContain('ok');
          expect(await membershipsOf(built.projectIds), JSON.stringify(world)).toEqual(before);
          for (const [u, userId] of built.userIds.entries()) {
            const tried = attempted.get(u)!;
            const inserted = await sql<{ id: string; created_by: string }[]>`
              select id, created_by from public.projects where id in ${sql(tried)}`;
            for (const row of inserted) expect(row.created_by).toBe(userId);
            expect(await membershipsOf(tried), `user ${u} of ${JSON.stringify(world)}`).toEqual(
              inserted.map((row) => `${row.id}/${userId}/owner`).sort(),
            );
          }
        } finally {
          await tearDownWorld(sql, built, fresh);
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
