/**
 * Invitations: owners list, create and revoke them for a project; invitees see theirs
 * (`/projects/invitations/mine`) and accept with the mailed token or, with a confirmed
 * email, straight from that list (`/projects/invitations/:invitationId/accept`). Creating,
 * revoking and accepting go through the RPCs, which hash the token and enforce the rules;
 * creating also queues the invitation mail for the worker
 * (supabase/migrations/20261202002100_invitation_mail_and_profiles.sql).
 */
import { createRoute } from '@hono/zod-openapi';
import { withRls, type TransactionSql } from '../../core/db/rls.ts';
import type { FunctionApp } from '../_shared/http/app.ts';
import { ApiError } from '../_shared/http/errors.ts';
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from '../_shared/http/schemas.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import type { ProjectListing } from './listing.ts';
import { memberIds, readProject } from './queries.ts';
import {
  AcceptInvitation,
  CreatedInvitation,
  CreateInvitation,
  InvitationList,
  InvitationParams,
  MyInvitationList,
  MyInvitationParams,
  Project,
  ProjectIdParam,
  type InvitationRow,
} from './schemas.ts';

const tags = ['invitations'];

/**
 * Owners read a project's invitations; RLS shows other members none at all, so the
 * caller's own (visible) membership tells "not yours to see" (403) from "no such
 * project" (404).
 */
async function requireInvitationAccess(tx: TransactionSql, projectId: string): Promise<void> {
  const [membership] = await tx<{ role: string }[]>`
    select role from public.project_members where project_id = ${projectId} and user_id = (select auth.uid())`;
  if (!membership) throw new ApiError('not_found', 'project not found');
  if (membership.role !== 'owner') throw new ApiError('forbidden', "only owners can see a project's invitations");
}

const mineRoute = createRoute({
  method: 'get',
  path: '/invitations/mine',
  tags,
  summary: "Pending invitations for the caller's email (never the token)",
  security: bearerSecurity,
  responses: { 200: jsonResponse(MyInvitationList, 'The invitations'), ...errorResponses() },
});

const acceptRoute = createRoute({
  method: 'post',
  path: '/invitations/accept',
  tags,
  summary: "Accept an invitation with its token; the caller's email must be the invited one",
  security: bearerSecurity,
  request: { body: jsonBody(AcceptInvitation, 'The token') },
  responses: { 200: jsonResponse(Project, 'The joined project'), ...errorResponses(403, 404, 409, 413, 415) },
});

const acceptFromListRoute = createRoute({
  method: 'post',
  path: '/invitations/{invitationId}/accept',
  tags,
  summary: 'Accept one of your pending invitations without the token; your account email must be confirmed',
  security: bearerSecurity,
  request: { params: MyInvitationParams },
  responses: { 200: jsonResponse(Project, 'The joined project'), ...errorResponses(403, 404, 409) },
});

const listRoute = createRoute({
  method: 'get',
  path: '/{id}/invitations',
  tags,
  summary: "A project's invitations (owners)",
  security: bearerSecurity,
  request: { params: ProjectIdParam },
  responses: { 200: jsonResponse(InvitationList, 'The invitations'), ...errorResponses(403, 404) },
});

const createInvitationRoute = createRoute({
  method: 'post',
  path: '/{id}/invitations',
  tags,
  summary: 'Invite an email with a role (owners); the token is returned once',
  security: bearerSecurity,
  request: { params: ProjectIdParam, body: jsonBody(CreateInvitation, 'Whom to invite') },
  responses: { 201: jsonResponse(CreatedInvitation, 'Created'), ...errorResponses(403, 404, 409, 413, 415) },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/{id}/invitations/{invitationId}',
  tags,
  summary: 'Revoke a pending invitation (owners)',
  security: bearerSecurity,
  request: { params: InvitationParams },
  responses: { 204: { description: 'Revoked' }, ...errorResponses(403, 404, 409) },
});

/**
 * Registers the static invitation routes (`/invitations/...`); call it before any
 * `/:id` route.
 *
 * @example
 * registerMyInvitationRoutes(app, deps, listing);
 */
export function registerMyInvitationRoutes(app: FunctionApp, deps: FunctionDeps, listing: ProjectListing): void {
  app.openapi(mineRoute, async (c) => {
    const rows = await withRls(
      await deps.db(),
      c.get('user').claims,
      (tx) => tx<{ invitation: unknown }[]>`
        select jsonb_build_object('id', i.id, 'project_id', i.project_id, 'project_name', i.project_name, 'role', i.role,
                                  'invited_by', i.invited_by, 'expires_at', i.expires_at) as invitation
        from public.my_invitations() i`,
      { readOnly: true },
    );
    return c.json({ data: rows.map((row) => row.invitation) as never[], next_cursor: null }, 200);
  });

  app.openapi(acceptRoute, async (c) => {
    const { token } = c.req.valid('json');
    const { project, affected } = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const [accepted] = await tx<{ project_id: string }[]>`select public.accept_invitation(${token}) as project_id`;
      const projectId = accepted!.project_id;
      return { project: await readProject(tx, projectId), affected: await memberIds(tx, projectId) };
    });
    await listing.invalidate(affected, c.get('log'));
    return c.json(project!, 200);
  });

  app.openapi(acceptFromListRoute, async (c) => {
    const { invitationId } = c.req.valid('param');
    const { project, affected } = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const [accepted] = await tx<{ project_id: string }[]>`select public.accept_invitation_from_list(${invitationId}) as project_id`;
      const projectId = accepted!.project_id;
      return { project: await readProject(tx, projectId), affected: await memberIds(tx, projectId) };
    });
    await listing.invalidate(affected, c.get('log'));
    return c.json(project!, 200);
  });
}

/**
 * Registers the per-project invitation routes.
 *
 * @example
 * registerInvitationRoutes(app, deps);
 */
export function registerInvitationRoutes(app: FunctionApp, deps: FunctionDeps): void {
  app.openapi(listRoute, async (c) => {
    const { id } = c.req.valid('param');
    const rows = await withRls(
      await deps.db(),
      c.get('user').claims,
      async (tx) => {
        await requireInvitationAccess(tx, id);
        return tx<{ invitation: InvitationRow }[]>`
          select jsonb_build_object(
            'id', i.id, 'project_id', i.project_id, 'email', i.email, 'role', i.role, 'invited_by', i.invited_by,
            'created_at', i.created_at, 'expires_at', i.expires_at, 'accepted_at', i.accepted_at, 'revoked_at', i.revoked_at,
            'status', case when i.accepted_at is not null then 'accepted' when i.revoked_at is not null then 'revoked'
                           when i.expires_at <= now() then 'expired' else 'pending' end,
            'mailed_at', i.mailed_at, 'mail_attempts', i.mail_attempts, 'last_mail_error', i.last_mail_error,
            'replaced_by', i.replaced_by) as invitation
          from public.project_invitations i
          where i.project_id = ${id}
          order by i.created_at desc, i.id`;
      },
      { readOnly: true },
    );
    return c.json({ data: rows.map((row) => row.invitation), next_cursor: null }, 200);
  });

  app.openapi(createInvitationRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { email, role } = c.req.valid('json');
    const created = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const [issued] = await tx<{ token: string }[]>`select public.create_invitation(${id}, ${email}, ${role}) as token`;
      // create_invitation revoked any earlier pending invitation of this email, naming this
      // one in its replaced_by: this is the pending one.
      const [row] = await tx<{ invitation: { id: string; email: string; role: 'owner' | 'collaborator' | 'viewer'; expires_at: string; replaced_invitation_id: string | null } }[]>`
        select jsonb_build_object('id', i.id, 'email', i.email, 'role', i.role, 'expires_at', i.expires_at,
                                  'replaced_invitation_id', (select r.id from public.project_invitations r where r.replaced_by = i.id limit 1)) as invitation
        from public.project_invitations i
        where i.project_id = ${id} and i.email = lower(btrim(${email}))
          and i.accepted_at is null and i.revoked_at is null
        order by i.created_at desc limit 1`;
      return { ...row!.invitation, token: issued!.token };
    });
    return c.json(created, 201);
  });

  app.openapi(revokeRoute, async (c) => {
    const { id, invitationId } = c.req.valid('param');
    await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const [visible] = await tx<{ project_id: string }[]>`
        select project_id from public.project_invitations where id = ${invitationId}`;
      if (visible && visible.project_id !== id) throw new ApiError('not_found', 'invitation not found');
      await tx`select public.revoke_invitation(${invitationId})`;
    });
    return c.body(null, 204);
  });
}
