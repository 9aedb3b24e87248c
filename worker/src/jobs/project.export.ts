/**
 * `project.export`: the project, its members (with their profile names) and, unless
 * `include_jobs` is false, a summary of its jobs, as one JSON document (the job result).
 */
import type { JobHandler } from './types.ts';

export const projectExportHandler: JobHandler<{ include_jobs: boolean }> = async ({ payload, job, sql, reportProgress }) => {
  const [project] = await sql<{ id: string; name: string; description: string | null; created_by: string | null; created_at: string; updated_at: string }[]>`
    select id, name, description, created_by, created_at, updated_at from public.projects where id = ${job.project_id}`;
  if (!project) throw new Error(`project ${job.project_id} no longer exists`);
  reportProgress(30);
  const members = await sql`
    select m.user_id, m.role, m.created_at as joined_at, p.display_name, p.email
    from public.project_members m left join public.profiles p on p.id = m.user_id
    where m.project_id = ${job.project_id}
    order by m.created_at, m.user_id`;
  reportProgress(60);
  let jobs: unknown = undefined;
  if (payload.include_jobs) {
    const [summary] = await sql<{ total: number; by_status: Record<string, number>; by_type: Record<string, number> }[]>`
      select count(*)::int as total,
             coalesce((select jsonb_object_agg(status, n) from (select status, count(*)::int n from public.jobs
                       where project_id = ${job.project_id} group by status) s), '{}') as by_status,
             coalesce((select jsonb_object_agg(type, n) from (select type, count(*)::int n from public.jobs
                       where project_id = ${job.project_id} group by type) t), '{}') as by_type
      from public.jobs where project_id = ${job.project_id}`;
    jobs = summary;
  }
  reportProgress(90);
  return {
    format: 'tandem.project.export/v1',
    exported_at: new Date().toISOString(),
    project,
    members: [...members],
    ...(payload.include_jobs ? { jobs } : {}),
  };
};
