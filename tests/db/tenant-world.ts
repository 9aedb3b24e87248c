/**
 * Random tenants for the isolation properties: a world of fresh users and projects with
 * random memberships, jobs and invitations (a fast-check arbitrary), written as the admin
 * and torn down by deleting its users.
 *
 * Other test files write to the same database concurrently. Every user of a world is
 * fresh and belongs only to that world's projects, so what they see and change can be
 * compared unfiltered.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Sql } from '../harness/db.ts';

export type Role = 'owner' | 'collaborator' | 'viewer';

export interface ProjectSpec {
  /** Index of the creator, who becomes owner. */
  creator: number;
  /** Role of each user (by index) besides the creator's; null = not a member. */
  roles: (Role | null)[];
  /** Creator index of each job. */
  jobs: number[];
  invitations: number;
}

export interface World {
  users: number;
  projects: ProjectSpec[];
}

const roleArb = fc.constantFrom<Role | null>(null, null, 'owner', 'collaborator', 'viewer');

/** 2-5 users and 1-4 projects with random roles, up to 3 jobs and 2 invitations each. */
export const worldArb: fc.Arbitrary<World> = fc.integer({ min: 2, max: 5 }).chain((users) =>
  fc
    .array(
      fc.record({
        creator: fc.nat(users - 1),
        roles: fc.array(roleArb, { minLength: users, maxLength: users }),
        jobs: fc.array(fc.nat(users - 1), { maxLength: 3 }),
        invitations: fc.nat(2),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .map((projects) => ({ users, projects })),
);

export interface Built {
  userIds: string[];
  emails: string[];
  projectIds: string[];
  /** roles[p][u]: the effective role of user u in project p. */
  roles: (Role | null)[][];
  jobIds: string[][];
  invitationIds: string[][];
}

/**
 * Writes the world as the admin (projects get their owner from the creator trigger).
 *
 * @example
 * const built = await buildWorld(sql, world);
 * try { ... } finally { await tearDownWorld(sql, built); }
 */
export async function buildWorld(sql: Sql, world: World): Promise<Built> {
  const userIds = Array.from({ length: world.users }, () => randomUUID());
  const emails = userIds.map((id) => `iso-${id}@test.tandem.dev`);
  const projectIds = world.projects.map(() => randomUUID());
  const roles = world.projects.map((spec) => spec.roles.map((role, user) => (user === spec.creator ? 'owner' : role)));
  const jobIds = world.projects.map((spec) => spec.jobs.map(() => randomUUID()));
  const invitationIds = world.projects.map((spec) => Array.from({ length: spec.invitations }, () => randomUUID()));

  await sql.begin(async (tx) => {
    for (const [index, id] of userIds.entries()) {
      await tx`insert into auth.users (id, aud, role, email, created_at, updated_at)
               values (${id}, 'authenticated', 'authenticated', ${emails[index]!}, now(), now())`;
    }
    for (const [p, spec] of world.projects.entries()) {
      const projectId = projectIds[p]!;
      await tx`insert into public.projects (id, name, created_by) values (${projectId}, ${`iso ${p}`}, ${userIds[spec.creator]!})`;
      for (const [user, role] of roles[p]!.entries()) {
        if (role === null || user === spec.creator) continue;
        await tx`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${userIds[user]!}, ${role})`;
      }
      for (const [j, creator] of spec.jobs.entries()) {
        await tx`insert into public.jobs (id, project_id, created_by, type) values (${jobIds[p]![j]!}, ${projectId}, ${userIds[creator]!}, 'demo.echo')`;
      }
      for (const id of invitationIds[p]!) {
        await tx`insert into public.project_invitations (id, project_id, email, token_hash, invited_by)
                 values (${id}, ${projectId}, ${`invitee-${id}@test.tandem.dev`}, ${randomBytes(32).toString('hex')}, ${userIds[spec.creator]!})`;
      }
    }
  });
  return { userIds, emails, projectIds, roles, jobIds, invitationIds };
}

/**
 * Deletes the world's users, which also deletes their now memberless projects (and jobs,
 * invitations), including `alsoCreated`: projects the users created during the test.
 */
export async function tearDownWorld(sql: Sql, built: Built, alsoCreated: string[] = []): Promise<void> {
  await sql`delete from auth.users where id in ${sql(built.userIds)}`;
  const projectIds = [...built.projectIds, ...alsoCreated];
  const [left] = await sql<{ n: number }[]>`select count(*)::int as n from public.projects where id in ${sql(projectIds)}`;
  expect(left?.n).toBe(0);
}
