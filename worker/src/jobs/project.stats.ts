/**
 * `project.stats`: the project's members by role and jobs by status.
 */
import type { JobHandler } from './types.ts';

export const projectStatsHandler: JobHandler<Record<string, never>> = async ({ job, sql }) => {
  const [counts] = await sql<{ members: Record<string, number>; jobs: Record<string, number> }[]>`
    select
      (select coalesce(jsonb_object_agg(role, n), '{}') from
        (select role, count(*)::int as n from public.project_members where project_id = ${job.project_id} group by role) m) as members,
      (select coalesce(jsonb_object_agg(status, n), '{}') from
        (select status, count(*)::int as n from public.jobs where project_id = ${job.project_id} group by status) s) as jobs`;
  const members = counts?.members ?? {};
  return {
    project_id: job.project_id,
    members: { owner: 0, collaborator: 0, viewer: 0, ...members },
    member_count: Object.values(members).reduce((sum, n) => sum + n, 0),
    jobs: { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, ...(counts?.jobs ?? {}) },
    counted_at: new Date().toISOString(),
  };
};
