/**
 * Property: no write crosses a tenant or a role. In random worlds of tenants
 * (tests/db/tenant-world.ts), every user — and an anonymous caller — tries every kind of
 * write on every table through `withRls` (as PostgREST and the edge functions run them),
 * and reads and writes `realtime.messages` of every project's topic while authorized for
 * every project's channel. Each attempt runs in a savepoint that is rolled back, so the
 * world stays as built; what succeeds must be EXACTLY what the role matrix allows (a
 * refused write is a permission error, an RLS violation, a business rule, or no row).
 *
 * The read property lives in tenant-isolation.test.ts; this one would have caught a
 * viewer-can-update policy and a realtime policy that forgot to match the row's topic to
 * the channel's.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withRls, type TransactionSql } from '../../core/db/rls.ts';
import { adminSql, claimsFor, testDatabases, type Sql } from '../harness/db.ts';
import { buildWorld, tearDownWorld, worldArb, type Built, type Role } from './tenant-world.ts';

/** One write (or realtime read) a caller tries, and whether the role matrix allows it. */
interface Attempt {
  name: string;
  allowed: boolean;
  run: (tx: TransactionSql) => Promise<{ count: number }>;
}

/** Errors that mean "refused": no privilege / RLS violation, and the last-owner rule. */
const REFUSALS = new Set(['42501', 'P0001']);

/** The database of the running `describe` block (both of tests/harness/db.ts's, in turn). */
let sql: Sql;

const topic = (projectId: string) => `project:${projectId}`;

/** Every attempt of caller `u` (an index into the world's users, or `anon`) with its expected outcome. */
function attemptsOf(built: Built, u: number | 'anon'): Attempt[] {
  const attempts: Attempt[] = [];
  const add = (name: string, allowed: boolean, run: Attempt['run']) => attempts.push({ name, allowed, run });
  const signedIn = u !== 'anon';
  const roleIn = (p: number): Role | null => (signedIn ? built.roles[p]![u] ?? null : null);
  const self = signedIn ? built.userIds[u]! : randomUUID();

  for (const [v, userId] of built.userIds.entries()) {
    add(`profiles: edit user ${v}'s display_name`, v === u, (tx) => tx`update public.profiles set display_name = 'changed' where id = ${userId}`);
  }
  add('profiles: insert one', false, (tx) => tx`insert into public.profiles (id, email) values (${randomUUID()}, 'nobody@test.tandem.dev')`);
  add('profiles: delete own', false, (tx) => tx`delete from public.profiles where id = ${self}`);
  add('profiles: change own email', false, (tx) => tx`update public.profiles set email = 'else@test.tandem.dev' where id = ${self}`);

  add('projects: create one', signedIn, (tx) => tx`insert into public.projects (name) values ('new')`);
  add('projects: create one in another creator\'s name', false, (tx) => tx`insert into public.projects (name, created_by) values ('forged', ${built.userIds[0]!})`);

  for (const [p, projectId] of built.projectIds.entries()) {
    const role = roleIn(p);
    const members = built.roles[p]!;
    const owners = members.filter((r) => r === 'owner').length;
    add(`projects[${p}]: rename`, role === 'owner' || role === 'collaborator', (tx) => tx`update public.projects set name = 'renamed' where id = ${projectId}`);
    add(`projects[${p}]: change created_by`, false, (tx) => tx`update public.projects set created_by = ${self} where id = ${projectId}`);
    add(`projects[${p}]: delete`, role === 'owner', (tx) => tx`delete from public.projects where id = ${projectId}`);

    for (const [v, memberRole] of members.entries()) {
      if (memberRole === null || v === u) continue;
      const userId = built.userIds[v]!;
      add(`members[${p}][${v}]: make viewer`, role === 'owner', (tx) =>
        tx`update public.project_members set role = 'viewer' where project_id = ${projectId} and user_id = ${userId}`);
      add(`members[${p}][${v}]: remove`, role === 'owner', (tx) =>
        tx`delete from public.project_members where project_id = ${projectId} and user_id = ${userId}`);
    }
    if (role !== null) {
      add(`members[${p}][self]: leave`, !(role === 'owner' && owners === 1), (tx) =>
        tx`delete from public.project_members where project_id = ${projectId} and user_id = ${self}`);
      add(`members[${p}][self]: become owner`, role === 'owner', (tx) =>
        tx`update public.project_members set role = 'owner' where project_id = ${projectId} and user_id = ${self}`);
    }
    add(`members[${p}]: add self directly`, false, (tx) =>
      tx`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${self}, 'owner')`);

    add(`invitations[${p}]: insert directly`, false, (tx) =>
      tx`insert into public.project_invitations (project_id, email, token_hash) values (${projectId}, 'x@test.tandem.dev', 'hash')`);
    for (const [i, invitationId] of built.invitationIds[p]!.entries()) {
      add(`invitations[${p}][${i}]: change role`, false, (tx) => tx`update public.project_invitations set role = 'owner' where id = ${invitationId}`);
      add(`invitations[${p}][${i}]: delete`, false, (tx) => tx`delete from public.project_invitations where id = ${invitationId}`);
    }

    add(`jobs[${p}]: submit`, role === 'owner' || role === 'collaborator', (tx) =>
      tx`insert into public.jobs (project_id, type) values (${projectId}, 'demo.echo')`);
    add(`jobs[${p}]: submit with a status`, false, (tx) =>
      tx`insert into public.jobs (project_id, type, status) values (${projectId}, 'demo.echo', 'succeeded')`);
    for (const [j, jobId] of built.jobIds[p]!.entries()) {
      add(`jobs[${p}][${j}]: set status`, false, (tx) => tx`update public.jobs set status = 'cancelled' where id = ${jobId}`);
      add(`jobs[${p}][${j}]: delete`, false, (tx) => tx`delete from public.jobs where id = ${jobId}`);
    }

    // Realtime: authorized for channel A, touching rows of topic B.
    for (const [q, otherId] of built.projectIds.entries()) {
      const same = p === q;
      const onChannel = (tx: TransactionSql) => tx`select set_config('realtime.topic', ${topic(projectId)}, true)`;
      add(`realtime[${p}→${q}]: read`, same && role !== null, async (tx) => {
        await onChannel(tx);
        return tx`select 1 from realtime.messages where topic = ${topic(otherId)} and event = 'iso-probe'`;
      });
      add(`realtime[${p}→${q}]: broadcast`, same && (role === 'owner' || role === 'collaborator'), async (tx) => {
        await onChannel(tx);
        return tx`insert into realtime.messages (topic, extension, event, payload, private) values (${topic(otherId)}, 'broadcast', 'forged', '{}', true)`;
      });
      add(`realtime[${p}→${q}]: track presence`, same && role !== null, async (tx) => {
        await onChannel(tx);
        return tx`insert into realtime.messages (topic, extension, event, payload, private) values (${topic(otherId)}, 'presence', 'track', '{}', true)`;
      });
    }
  }
  return attempts;
}

class RolledBack extends Error {
  constructor(readonly outcomes: Record<string, boolean>) {
    super('rolled back on purpose');
  }
}
class Affected extends Error {
  constructor(readonly count: number) {
    super('savepoint rolled back on purpose');
  }
}

/** Runs each attempt in its own rolled-back savepoint of one rolled-back transaction; returns which succeeded. */
async function tryAll(built: Built, u: number | 'anon'): Promise<Record<string, boolean>> {
  const claims = u === 'anon' ? null : claimsFor(built.userIds[u]!, built.emails[u]!);
  const attempts = attemptsOf(built, u);
  try {
    await withRls(sql, claims, async (tx) => {
      const outcomes: Record<string, boolean> = {};
      for (const attempt of attempts) {
        try {
          await tx.savepoint(async (sp) => {
            const result = await attempt.run(sp);
            throw new Affected(result.count);
          });
        } catch (error) {
          if (error instanceof Affected) outcomes[attempt.name] = error.count > 0;
          else if (REFUSALS.has((error as { code?: string }).code ?? '')) outcomes[attempt.name] = false;
          else throw new Error(`${attempt.name}: ${(error as Error).message}`);
        }
      }
      throw new RolledBack(outcomes);
    });
  } catch (error) {
    if (error instanceof RolledBack) return error.outcomes;
    throw error;
  }
  throw new Error('the transaction was meant to roll back');
}

describe.each(testDatabases())('on the database $label', ({ url }) => {
  beforeAll(() => {
    sql = adminSql({ url, max: 6 });
  });

  afterAll(async () => {
    await sql?.end();
  });

  test('every caller changes exactly what the role matrix allows, on every table and every channel topic', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const built = await buildWorld(sql, world);
        try {
          // A message on every project's topic for the realtime reads to find.
          await sql`insert into realtime.messages (topic, extension, event, payload, private)
                    select 'project:' || id, 'broadcast', 'iso-probe', '{}', true from unnest(${built.projectIds}::uuid[]) as id`;
          for (const caller of [...built.userIds.keys(), 'anon' as const]) {
            const expected = Object.fromEntries(attemptsOf(built, caller).map((attempt) => [attempt.name, attempt.allowed]));
            expect(await tryAll(built, caller), `caller ${caller} of ${JSON.stringify(world)}`).toEqual(expected);
          }
          // Every attempt was rolled back: the world is as built.
          const [members] = await sql<{ n: number }[]>`select count(*)::int as n from public.project_members where project_id in ${sql(built.projectIds)}`;
          expect(members!.n).toBe(built.roles.flat().filter((role) => role !== null).length);
        } finally {
          await sql`delete from realtime.messages where event = 'iso-probe' and topic in ${sql(built.projectIds.map(topic))}`;
          await tearDownWorld(sql, built);
        }
      }),
      { numRuns: 15 },
    );
  }, 180_000);
});
