/**
 * The one projection of a project as its members see it: the row's public fields, the
 * caller's role and the member count. The listing (listing.ts) and the single project
 * (queries.ts) both select it, over `public.projects p` joined to the caller's
 * membership `m`.
 */
import type { TransactionSql } from '../../core/db/rls.ts';

/**
 * The jsonb of one project (`p`) with the caller's role (`m.role`), as ProjectListItem
 * describes it (schemas.ts); Project adds `created_by` to it.
 *
 * @example
 * const rows = await tx`select ${projectItem(tx)} as item from public.projects p join public.project_members m on ...`;
 */
export function projectItem(tx: TransactionSql) {
  return tx`jsonb_build_object(
    'id', p.id, 'name', p.name, 'description', p.description, 'role', m.role,
    'member_count', (select count(*) from public.project_members c where c.project_id = p.id),
    'created_at', p.created_at, 'updated_at', p.updated_at)`;
}
