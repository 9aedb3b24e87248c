/**
 * NOTIFY channels the worker listens to (they cannot be observed inside the rolled-back
 * transactions of the pgTAP suite):
 *   tandem_cache  {"user_ids": [...]}  every user whose project listing changed
 *   tandem_jobs   {"op", "id"}         jobs to enqueue (insert, retry) or abort (cancel)
 *
 * Other test files write to the same database at the same time, so only notifications
 * naming this file's fresh users and jobs are considered. Notifications are delivered in
 * commit order, which gives every step an exact boundary: after the step, the inbox sends
 * a fence of its own (tests/db/inbox.ts), and everything received before the fence
 * belongs to the step — so a notification that never comes fails the test at once
 * instead of after a timeout.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withRls } from '../../core/db/rls.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { Inbox } from './inbox.ts';

interface CacheMessage {
  user_ids: string[];
}
interface JobMessage {
  op: 'insert' | 'retry' | 'cancel';
  id: string;
}

let sql: Sql;
let cache: Inbox<CacheMessage>;
let jobs: Inbox<JobMessage>;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  sql = adminSql();
  cache = await Inbox.listen<CacheMessage>(sql, 'tandem_cache');
  jobs = await Inbox.listen<JobMessage>(sql, 'tandem_jobs');
  [alice, bob, carol, dave] = await Promise.all([createUser(sql), createUser(sql), createUser(sql), createUser(sql)]) as [
    TestUser,
    TestUser,
    TestUser,
    TestUser,
  ];
});

afterAll(async () => {
  await sql?.end();
});

/** Runs `step` and returns the tandem_cache notifications it caused (up to the fence sent after it). */
async function notificationsOf(step: () => Promise<unknown>): Promise<CacheMessage[]> {
  const start = cache.size;
  await step();
  const end = await cache.fence();
  return cache.slice(start, end);
}

/** Runs `step`, then returns which of this file's users the step's tandem_cache notifications named. */
async function usersNotifiedBy(step: () => Promise<unknown>): Promise<string[]> {
  const mine = new Set([alice.id, bob.id, carol.id, dave.id]);
  const named = (await notificationsOf(step)).flatMap((message) => message.user_ids).filter((id) => mine.has(id));
  return [...new Set(named)].sort();
}

const sorted = (...users: TestUser[]) => users.map((user) => user.id).sort();

async function invite(owner: TestUser, projectId: string, invitee: TestUser, role: string): Promise<void> {
  const [row] = await withRls(sql, owner.claims, (tx) =>
    tx<{ token: string }[]>`select public.create_invitation(${projectId}, ${invitee.email}, ${role}::public.project_role) as token`);
  await withRls(sql, invitee.claims, (tx) => tx`select public.accept_invitation(${row!.token})`);
}

describe('tandem_cache', () => {
  let projectId: string;

  test('creating a project names its creator', async () => {
    const named = await usersNotifiedBy(async () => {
      const [row] = await withRls(sql, alice.claims, (tx) =>
        tx<{ id: string }[]>`insert into public.projects (name) values ('notify test') returning id`);
      projectId = row!.id;
    });
    expect(named).toEqual(sorted(alice));
  });

  test('a member joining names every member', async () => {
    expect(await usersNotifiedBy(() => invite(alice, projectId, bob, 'viewer'))).toEqual(sorted(alice, bob));
    expect(await usersNotifiedBy(() => invite(alice, projectId, carol, 'viewer'))).toEqual(sorted(alice, bob, carol));
  });

  test('a role change names every member', async () => {
    const named = await usersNotifiedBy(() =>
      withRls(sql, alice.claims, (tx) =>
        tx`update public.project_members set role = 'collaborator' where project_id = ${projectId} and user_id = ${bob.id}`));
    expect(named).toEqual(sorted(alice, bob, carol));
  });

  test('editing the project names every member', async () => {
    const named = await usersNotifiedBy(() =>
      withRls(sql, bob.claims, (tx) => tx`update public.projects set name = 'renamed' where id = ${projectId}`));
    expect(named).toEqual(sorted(alice, bob, carol));
  });

  test('a change made with plain SQL is announced the same way', async () => {
    const named = await usersNotifiedBy(() => sql`update public.projects set description = 'by sql' where id = ${projectId}`);
    expect(named).toEqual(sorted(alice, bob, carol));
  });

  test('a member leaving names the remaining members and the one who left', async () => {
    const named = await usersNotifiedBy(() =>
      withRls(sql, carol.claims, (tx) =>
        tx`delete from public.project_members where project_id = ${projectId} and user_id = ${carol.id}`));
    expect(named).toEqual(sorted(alice, bob, carol));
  });

  test('deleting the project names every departed member', async () => {
    await invite(alice, projectId, dave, 'viewer');
    const named = await usersNotifiedBy(() =>
      withRls(sql, alice.claims, (tx) => tx`delete from public.projects where id = ${projectId}`));
    expect(named).toEqual(sorted(alice, bob, dave));
  });

  test('deleting a user names the members of their projects, them included', async () => {
    const [row] = await withRls(sql, carol.claims, (tx) =>
      tx<{ id: string }[]>`insert into public.projects (name) values ('carol and dave') returning id`);
    await invite(carol, row!.id, dave, 'viewer');
    const named = await usersNotifiedBy(() => sql`delete from auth.users where id = ${carol.id}`);
    expect(named).toEqual(sorted(carol, dave));
    const [heir] = await sql<{ role: string }[]>`
      select role from public.project_members where project_id = ${row!.id} and user_id = ${dave.id}`;
    expect(heir?.role).toBe('owner');
  });

  test('a project of other users names none of them', async () => {
    carol = await createUser(sql);
    const named = await usersNotifiedBy(() =>
      withRls(sql, carol.claims, (tx) => tx`insert into public.projects (name) values ('carol alone')`));
    expect(named).toEqual(sorted(carol));
  });
});

test('tandem_cache: a large project is announced in chunks that fit NOTIFY\'s payload limit', async () => {
  const size = 170;
  const ids: string[] = Array.from({ length: size }, () => randomUUID());
  await sql`insert into auth.users (id, email) select id, id::text || '@chunk.test' from unnest(${ids}::uuid[]) id`;
  const [project] = await sql<{ id: string }[]>`insert into public.projects (name, created_by) values ('big', ${ids[0]!}) returning id`;
  const messages = await notificationsOf(() =>
    sql`insert into public.project_members (project_id, user_id, role)
        select ${project!.id}, id, 'viewer' from unnest(${ids.slice(1)}::uuid[]) id`);
  const all = new Set(ids);
  const chunks = messages.filter((message) => message.user_ids.some((id) => all.has(id)));
  expect(chunks.length).toBeGreaterThan(1);
  for (const chunk of chunks) expect(chunk.user_ids.length).toBeLessThanOrEqual(150);
  expect([...new Set(chunks.flatMap((chunk) => chunk.user_ids))].sort()).toEqual([...ids].sort());
  await sql`delete from auth.users where id in ${sql(ids)}`;
});

describe('tandem_jobs', () => {
  let owner: TestUser;
  let collaborator: TestUser;
  let projectId: string;

  beforeAll(async () => {
    [owner, collaborator] = (await Promise.all([createUser(sql), createUser(sql)])) as [TestUser, TestUser];
    const [row] = await withRls(sql, owner.claims, (tx) =>
      tx<{ id: string }[]>`insert into public.projects (name) values ('jobs notify') returning id`);
    projectId = row!.id;
    await invite(owner, projectId, collaborator, 'collaborator');
  });

  const opsFor = (id: string) => jobs.all().filter((message) => message.id === id).map((message) => message.op);

  test('a job submitted by a user, then cancelled while running, then retried', async () => {
    const [job] = await withRls(sql, collaborator.claims, (tx) =>
      tx<{ id: string }[]>`insert into public.jobs (project_id, type, payload) values (${projectId}, 'demo.echo', '{}') returning id`);
    const id = job!.id;
    await jobs.expectMessage((message) => message.id === id && message.op === 'insert');

    // The worker's own writes are not announced on tandem_jobs.
    await sql`update public.jobs set status = 'running', attempts = 1 where id = ${id}`;
    await sql`update public.jobs set progress = 50 where id = ${id}`;
    await withRls(sql, owner.claims, (tx) => tx`select public.cancel_job(${id})`);
    await jobs.expectMessage((message) => message.id === id && message.op === 'cancel');
    expect(opsFor(id)).toEqual(['insert', 'cancel']);

    // A second cancel request changes nothing, so nothing is announced; the retry is.
    await withRls(sql, owner.claims, (tx) => tx`select public.cancel_job(${id})`);
    await sql`update public.jobs set status = 'cancelled' where id = ${id}`;
    await withRls(sql, collaborator.claims, (tx) => tx`select public.retry_job(${id})`);
    await jobs.expectMessage((message) => message.id === id && message.op === 'retry');
    expect(opsFor(id)).toEqual(['insert', 'cancel', 'retry']);
  });

  test('a job inserted with plain SQL is announced, and so is cancelling it while queued', async () => {
    const [job] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, type, payload) values (${projectId}, 'demo.echo', '{"via":"sql"}') returning id`;
    const id = job!.id;
    await jobs.expectMessage((message) => message.id === id && message.op === 'insert');
    await withRls(sql, collaborator.claims, (tx) => tx`select public.cancel_job(${id})`);
    await jobs.expectMessage((message) => message.id === id && message.op === 'cancel');
    expect(opsFor(id)).toEqual(['insert', 'cancel']);
    const [row] = await sql<{ status: string }[]>`select status from public.jobs where id = ${id}`;
    expect(row?.status).toBe('cancelled');
  });

  test('a failed job retried by its project owner is announced as retry', async () => {
    const [job] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, created_by, type) values (${projectId}, ${collaborator.id}, 'demo.echo') returning id`;
    const id = job!.id;
    await sql`update public.jobs set status = 'running', attempts = 1 where id = ${id}`;
    await sql`update public.jobs set status = 'failed', error = 'boom' where id = ${id}`;
    await withRls(sql, owner.claims, (tx) => tx`select public.retry_job(${id})`);
    await jobs.expectMessage((message) => message.id === id && message.op === 'retry');
    expect(opsFor(id)).toEqual(['insert', 'retry']);
  });

  test('a rolled-back insert is never announced', async () => {
    const id = randomUUID();
    await sql
      .begin(async (tx) => {
        await tx`insert into public.jobs (id, project_id, type) values (${id}, ${projectId}, 'demo.echo')`;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    // The fence proves the rolled-back one would have arrived before it.
    await jobs.fence();
    expect(opsFor(id)).toEqual([]);
  });

  test('rows inserted by a caller that enqueues them itself are not announced; others of one statement each are', async () => {
    const ownId = await withRls(sql, collaborator.claims, async (tx) => {
      await tx`select set_config('tandem.job_enqueued_by_caller', 'on', true)`;
      const [own] = await tx<{ id: string }[]>`insert into public.jobs (project_id, type) values (${projectId}, 'demo.echo') returning id`;
      return own!.id;
    });
    const rows = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, type) select ${projectId}, 'demo.echo' from generate_series(1, 3) returning id`;
    for (const row of rows) await jobs.expectMessage((message) => message.id === row.id);
    expect(rows.map((row) => opsFor(row.id))).toEqual([['insert'], ['insert'], ['insert']]);
    expect(opsFor(ownId)).toEqual([]);
  });
});

test('a notification that never comes fails the check at once, not after a timeout', async () => {
  const nobody = randomUUID();
  const start = jobs.size;
  await sql`update public.jobs set progress = progress where false`; // a step that announces nothing
  // Bounded well below the 10 s the old wait-for-it inbox took to give up.
  await expect(jobs.expectMessage((message) => message.id === nobody, start)).rejects.toThrow(/no matching notification on tandem_jobs before the fence/);
}, 8_000);

describe('realtime_messages (bootstrap only: what the local Realtime listens to)', () => {
  test('one notification per statement names every broadcast row it inserted, each job on its own project topic', async () => {
    const owner = await createUser(sql);
    const projects = await withRls(sql, owner.claims, (tx) =>
      tx<{ id: string }[]>`insert into public.projects (name) select 'realtime ' || n from generate_series(1, 2) n returning id`);
    const inserted = await sql<{ id: string; project_id: string }[]>`
      insert into public.jobs (project_id, type)
      select p, 'demo.echo' from unnest(${projects.map((p) => p.id)}::uuid[]) p, generate_series(1, 2)
      returning id, project_id`;
    const messages = await Inbox.listen<{ ids: string[] }>(sql, 'realtime_messages');
    const updated = await sql`update public.jobs set status = 'running' where id = any(${inserted.map((j) => j.id)}::uuid[])`;
    expect(updated.count).toBe(4);
    const rows = await sql<{ id: string; topic: string; job_id: string }[]>`
      select id, topic, payload ->> 'id' as job_id from realtime.messages
      where event = 'job_updated' and payload ->> 'status' = 'running'
        and payload ->> 'id' = any(${inserted.map((j) => j.id)}::text[])`;
    expect(rows.map((row) => `${row.job_id} ${row.topic}`).sort()).toEqual(inserted.map((job) => `${job.id} project:${job.project_id}:events`).sort());
    // All four in one notification: the statement's.
    const at = await messages.expectMessage((message) => rows.every((row) => message.ids.includes(row.id)));
    expect(messages.all()[at]!.ids.length).toBe(4);
    await sql`delete from auth.users where id = ${owner.id}`;
  });
});
