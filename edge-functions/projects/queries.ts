/**
 * The reads that several route modules of the `projects` function share (projects.ts,
 * members.ts, invitations.ts), so that none imports another's helpers.
 */
import type { TransactionSql } from '../../core/db/rls.ts';
import { projectItem } from './projection.ts';
import type { ProjectRow } from './schemas.ts';

/**
 * One project as the caller sees it (with their role and the member count), or undefined
 * when RLS hides it.
 *
 * @example
 * const project = await readProject(tx, id);
 */
export async function readProject(tx: TransactionSql, id: string): Promise<ProjectRow | undefined> {
  const [row] = await tx<{ project: ProjectRow }[]>`
    select ${projectItem(tx)} || jsonb_build_object('created_by', p.created_by) as project
    from public.projects p
    left join public.project_members m on m.project_id = p.id and m.user_id = (select auth.uid())
    where p.id = ${id}`;
  return row?.project;
}

/**
 * Ids of every member of a project the caller can see (whose listings a change affects).
 *
 * @example
 * const affected = await memberIds(tx, projectId);
 */
export async function memberIds(tx: TransactionSql, projectId: string): Promise<string[]> {
  const rows = await tx<{ user_id: string }[]>`select user_id from public.project_members where project_id = ${projectId}`;
  return rows.map((row) => row.user_id);
}
