/**
 * `/projects/:id/members`: list, change a role (owners), remove a member (owners) or leave.
 */
import { createRoute } from '@hono/zod-openapi';
import { explainNoRows } from '../_shared/db/denied.ts';
import { withRls, type TransactionSql } from '../../core/db/rls.ts';
import type { FunctionApp } from '../_shared/http/app.ts';
import { ApiError } from '../_shared/http/errors.ts';
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from '../_shared/http/schemas.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import type { ProjectListing } from './listing.ts';
import { memberIds } from './queries.ts';
import { Member, MemberList, MemberParams, ProjectIdParam, UpdateMember, type MemberRow } from './schemas.ts';

const tags = ['members'];

function selectMembers(tx: TransactionSql, projectId: string, userId?: string) {
  return tx<{ member: MemberRow }[]>`
    select jsonb_build_object(
      'user_id', m.user_id, 'role', m.role, 'invited_by', m.invited_by, 'created_at', m.created_at,
      'email', pr.email, 'display_name', pr.display_name, 'avatar_url', pr.avatar_url) as member
    from public.project_members m
    left join public.profiles pr on pr.id = m.user_id
    where m.project_id = ${projectId} ${userId ? tx`and m.user_id = ${userId}` : tx``}
    order by m.created_at, m.user_id`;
}

const memberVisible = (tx: TransactionSql, projectId: string, userId: string) =>
  tx`select 1 from public.project_members where project_id = ${projectId} and user_id = ${userId}`;

const listRoute = createRoute({
  method: 'get',
  path: '/{id}/members',
  tags,
  summary: 'Members of a project with their profiles',
  security: bearerSecurity,
  request: { params: ProjectIdParam },
  responses: { 200: jsonResponse(MemberList, 'The members'), ...errorResponses(404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}/members/{userId}',
  tags,
  summary: "Change a member's role (owners); the last owner cannot be demoted",
  security: bearerSecurity,
  request: { params: MemberParams, body: jsonBody(UpdateMember, 'The new role') },
  responses: { 200: jsonResponse(Member, 'The member'), ...errorResponses(403, 404, 409, 413, 415) },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/{id}/members/{userId}',
  tags,
  summary: 'Remove a member (owners) or leave (yourself); the last owner cannot leave',
  security: bearerSecurity,
  request: { params: MemberParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses(403, 404, 409) },
});

/**
 * Registers the member routes.
 *
 * @example
 * registerMemberRoutes(app, deps, listing);
 */
export function registerMemberRoutes(app: FunctionApp, deps: FunctionDeps, listing: ProjectListing): void {
  app.openapi(listRoute, async (c) => {
    const { id } = c.req.valid('param');
    const rows = await withRls(await deps.db(), c.get('user').claims, (tx) => selectMembers(tx, id), { readOnly: true });
    // A member always sees themselves, so no rows means the project is not theirs.
    if (rows.length === 0) throw new ApiError('not_found', 'project not found');
    return c.json({ data: rows.map((row) => row.member), next_cursor: null }, 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { id, userId } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const { member, affected } = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const updated = await tx`
        update public.project_members set role = ${role}
        where project_id = ${id} and user_id = ${userId} returning user_id`;
      if (updated.length === 0) await explainNoRows(memberVisible(tx, id, userId), 'member', 'change the role of');
      const [row] = await selectMembers(tx, id, userId);
      return { member: row!.member, affected: await memberIds(tx, id) };
    });
    await listing.invalidate(affected, c.get('log'));
    return c.json(member, 200);
  });

  app.openapi(removeRoute, async (c) => {
    const { id, userId } = c.req.valid('param');
    const affected = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const members = await memberIds(tx, id);
      const removed = await tx`
        delete from public.project_members where project_id = ${id} and user_id = ${userId} returning user_id`;
      if (removed.length === 0) await explainNoRows(memberVisible(tx, id, userId), 'member', 'remove');
      return members;
    });
    await listing.invalidate(affected, c.get('log'));
    return c.body(null, 204);
  });
}
