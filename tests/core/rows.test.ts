/**
 * core/jobs/row.ts is the one description of a jobs row and of its `job_updated` event.
 * The other descriptions that cannot import it are proved equal to it here: the generated
 * Database types (client/database.types.ts, from the schema), the client package's own
 * event type (client/ is published without core), and the payload the realtime trigger
 * builds in SQL (supabase/migrations/20261202000300_realtime_server_events.sql).
 */
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { Enums, Json as GeneratedJson, Tables } from '../../client/database.types.ts';
import { Constants } from '../../client/database.types.ts';
import type { WorkspaceServerEvents } from '../../client/workspace.ts';
import { JobRow, JobStatus, JobUpdated } from '../../core/jobs/row.ts';
import type { Json } from '../../core/schemas.ts';
import { adminSql, createUser } from '../harness/db.ts';

describe('the types inferred from the row schemas', () => {
  // Checked by tsc (npm run typecheck): a mismatch in either direction fails the build.
  it('equal the generated database types', () => {
    expectTypeOf<JobRow>().toEqualTypeOf<Tables<'jobs'>>();
    expectTypeOf<JobStatus>().toEqualTypeOf<Enums<'job_status'>>();
    expectTypeOf<Json>().toEqualTypeOf<GeneratedJson>();
    expect(JobStatus.options).toEqual(Constants.public.Enums.job_status);
  });

  it("equal the client package's job_updated event", () => {
    expectTypeOf<JobUpdated>().toEqualTypeOf<WorkspaceServerEvents['job_updated']>();
  });
});

describe('rows and events from the database', () => {
  const sql = adminSql({ max: 1 });
  afterAll(() => sql.end());

  it('a jobs row as to_jsonb renders it, and each job_updated payload the trigger sends, parse strictly', async () => {
    const owner = await createUser(sql);
    try {
      const [project] = await sql<{ id: string }[]>`insert into public.projects (name, created_by) values ('rows', ${owner.id}) returning id`;
      const [job] = await sql<{ id: string }[]>`
        insert into public.jobs (project_id, created_by, type, payload, idempotency_key)
        values (${project!.id}, ${owner.id}, 'project.stats', '{"a": [1, "two", null, {"b": true}]}', 'rows-1') returning id`;
      await sql`update public.jobs set status = 'running', attempts = 1, started_at = now() where id = ${job!.id}`;
      await sql`update public.jobs set status = 'succeeded', progress = 100, result = '{"n": 1}', finished_at = now() where id = ${job!.id}`;

      const [row] = await sql<{ job: unknown }[]>`select to_jsonb(j) as job from public.jobs j where j.id = ${job!.id}`;
      expect(JobRow.strict().parse(row!.job)).toMatchObject({ id: job!.id, status: 'succeeded', result: { n: 1 }, idempotency_key: 'rows-1' });

      const events = await sql<{ payload: unknown }[]>`
        select payload from realtime.messages
        where event = 'job_updated' and topic = ${`project:${project!.id}:events`} order by inserted_at, id`;
      expect(events.map((event) => JobUpdated.parse(event.payload).status)).toEqual(['queued', 'running', 'succeeded']);
      // .strict(): a key the schema lacks fails the parse, so this is the whole payload.
      expect(() => JobUpdated.parse({ ...JobUpdated.parse(events[0]!.payload), error: 'leaked' })).toThrow();
    } finally {
      await sql`delete from auth.users where id = ${owner.id}`;
    }
  });
});
