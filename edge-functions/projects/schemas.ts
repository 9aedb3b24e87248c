/**
 * Request and response schemas of the `projects` function.
 */
import { z } from '@hono/zod-openapi';
import { Timestamp, Uuid } from '../../core/schemas.ts';
import { listOf, storableText } from '../_shared/http/schemas.ts';

export const ProjectRole = z.enum(['owner', 'collaborator', 'viewer']).openapi('ProjectRole');

export const ProjectListItem = z
  .object({
    id: Uuid,
    name: z.string(),
    description: z.string(),
    role: ProjectRole,
    member_count: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('ProjectListItem');

export const ProjectList = listOf(ProjectListItem, 'ProjectList');

export const Project = ProjectListItem.extend({ created_by: Uuid.nullable() }).openapi('Project');

const Name = storableText().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const Description = storableText().max(2000, 'must be at most 2000 characters');

export const CreateProject = z
  .object({ name: Name, description: Description.optional() })
  .strict()
  .openapi('CreateProject', { example: { name: 'Apollo', description: 'Moon landing planning' } });

export const UpdateProject = z
  .object({ name: Name.optional(), description: Description.optional() })
  .strict()
  .refine((patch) => patch.name !== undefined || patch.description !== undefined, 'give name or description')
  .openapi('UpdateProject', { example: { name: 'Apollo 11' } });

export const Member = z
  .object({
    user_id: Uuid,
    role: ProjectRole,
    invited_by: Uuid.nullable(),
    created_at: Timestamp,
    email: z.string().nullable(),
    display_name: z.string().nullable(),
    avatar_url: z.string().nullable(),
  })
  .openapi('Member');

export const MemberList = listOf(Member, 'MemberList');

export const UpdateMember = z.object({ role: ProjectRole }).strict().openapi('UpdateMember', { example: { role: 'collaborator' } });

export const Invitation = z
  .object({
    id: Uuid,
    project_id: Uuid,
    email: z.string(),
    role: ProjectRole,
    invited_by: Uuid.nullable(),
    created_at: Timestamp,
    expires_at: Timestamp,
    accepted_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
    /** When the worker handed the invitation mail to the SMTP server (null: not yet). */
    mailed_at: Timestamp.nullable(),
    mail_attempts: z.number().int(),
    /** Why the last send failed; null once one succeeded. */
    last_mail_error: z.string().nullable(),
    /** The newer invitation of the same address that replaced this one. */
    replaced_by: Uuid.nullable(),
  })
  .openapi('Invitation');

export const InvitationList = listOf(Invitation, 'InvitationList');

export const CreateInvitation = z
  .object({
    email: storableText().trim().min(3).max(320),
    role: ProjectRole.default('viewer'),
  })
  .strict()
  .openapi('CreateInvitation', { example: { email: 'bob@example.com', role: 'collaborator' } });

export const CreatedInvitation = z
  .object({
    id: Uuid,
    email: z.string(),
    role: ProjectRole,
    expires_at: Timestamp,
    token: z.string(),
    /** The pending invitation of the same address that this one revoked and replaced, if any. */
    replaced_invitation_id: Uuid.nullable(),
  })
  .openapi('CreatedInvitation');

export const MyInvitation = z
  .object({ id: Uuid, project_id: Uuid, project_name: z.string(), role: ProjectRole, invited_by: Uuid.nullable(), expires_at: Timestamp })
  .openapi('MyInvitation');

export const MyInvitationList = listOf(MyInvitation, 'MyInvitationList');

export const AcceptInvitation = z
  .object({ token: storableText().min(1).max(200) })
  .strict()
  .openapi('AcceptInvitation', { example: { token: '3f1c…' } });

export const ProjectIdParam = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' } }) });
export const MemberParams = ProjectIdParam.extend({ userId: Uuid.openapi({ param: { name: 'userId', in: 'path' } }) });
export const MyInvitationParams = z.object({ invitationId: Uuid.openapi({ param: { name: 'invitationId', in: 'path' } }) });
export const InvitationParams = ProjectIdParam.extend({ invitationId: Uuid.openapi({ param: { name: 'invitationId', in: 'path' } }) });

export type ProjectRow = z.infer<typeof Project>;
export type MemberRow = z.infer<typeof Member>;
export type InvitationRow = z.infer<typeof Invitation>;
