-- =============================================================================
-- Domain: invitations
--
-- An owner invites an email address with a role. Only a SHA-256 hash of the random token
-- is stored; the raw token is returned once, to the inviter, who delivers it. The invitee
-- accepts with the token while signed in with that email. Invitations expire after 7 days.
--
-- Errors raised here use PostgREST's `PTxxx` SQLSTATEs so that supabase-js callers get
-- the matching HTTP status: PT404 not found, PT409 conflict (used, revoked, expired,
-- already a member); 42501 forbidden; 22023 invalid argument.
-- =============================================================================

-- Section: table

create table public.project_invitations (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  email text not null check (char_length(email) between 3 and 320 and email = lower(email)),
  role public.project_role not null default 'viewer',
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  invited_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  revoked_at timestamptz,
  check (accepted_at is null or revoked_at is null)
);
comment on table public.project_invitations is
  'Invitations to join a project, bound to an email; only the token''s SHA-256 hash is stored.';

create index project_invitations_project_id_idx on public.project_invitations (project_id, created_at desc);
create index project_invitations_pending_email_idx on public.project_invitations (email)
  where accepted_at is null and revoked_at is null;
create index project_invitations_invited_by_idx on public.project_invitations (invited_by);

-- Section: RLS policies

alter table public.project_invitations enable row level security;

create policy "owners read their projects' invitations"
  on public.project_invitations for select to authenticated
  using (project_id = any ((select private.my_project_ids('{owner}'))::uuid[]));

-- No insert, update or delete policies: invitations change only through the RPCs below,
-- which generate and hash the token.

grant select (id, project_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at)
  on public.project_invitations to authenticated;
grant select, insert, update, delete on public.project_invitations to service_role;

-- Section: helpers

/**
 * SHA-256 of an invitation token, as stored in project_invitations.token_hash.
 */
create or replace function private.invitation_token_hash(token text)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(extensions.digest(convert_to(token, 'UTF8'), 'sha256'), 'hex');
$$;
comment on function private.invitation_token_hash(text) is 'Hash under which an invitation token is stored.';
revoke all on function private.invitation_token_hash(text) from public;

-- Section: RPCs

/**
 * Invites `email` to `project_id` with `role` and returns the raw token (shown once).
 * Owners only. A pending invitation for the same email and project is replaced.
 *
 * @example select public.create_invitation('…project uuid…', 'bob@example.com', 'viewer');
 */
create or replace function public.create_invitation(project_id uuid, email text, role public.project_role)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  normalized_email text := lower(btrim(create_invitation.email));
  raw_token text := encode(extensions.gen_random_bytes(32), 'hex');
  caller_role public.project_role := private.my_role_in(create_invitation.project_id);
begin
  if auth.uid() is null then
    raise exception 'sign in to invite people' using errcode = '42501';
  end if;
  if caller_role is null then
    raise exception 'project not found' using errcode = 'PT404';
  end if;
  if caller_role <> 'owner' then
    raise exception 'only owners can invite people' using errcode = '42501';
  end if;
  if create_invitation.role is null then
    raise exception 'role is required' using errcode = '22023';
  end if;
  if normalized_email is null or normalized_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or char_length(normalized_email) > 320 then
    raise exception 'email must be a valid email address' using errcode = '22023';
  end if;
  if exists (
    select 1 from public.project_members m join auth.users u on u.id = m.user_id
    where m.project_id = create_invitation.project_id and lower(u.email) = normalized_email
  ) then
    raise exception '% is already a member of this project', normalized_email using errcode = 'PT409';
  end if;

  update public.project_invitations i
  set revoked_at = now()
  where i.project_id = create_invitation.project_id and i.email = normalized_email
    and i.accepted_at is null and i.revoked_at is null;

  insert into public.project_invitations (project_id, email, role, token_hash, invited_by)
  values (create_invitation.project_id, normalized_email, create_invitation.role,
          private.invitation_token_hash(raw_token), auth.uid());
  return raw_token;
end;
$$;
comment on function public.create_invitation(uuid, text, public.project_role) is
  'Owners invite an email with a role; returns the raw token once.';
revoke all on function public.create_invitation(uuid, text, public.project_role) from public, anon;
grant execute on function public.create_invitation(uuid, text, public.project_role) to authenticated, service_role;

/**
 * Accepts an invitation with its raw token and returns the project id. The caller's JWT
 * email must be the invited one. Expired, revoked and used tokens are refused with
 * distinct messages. An existing member keeps their current role.
 *
 * @example select public.accept_invitation('…token…');
 */
create or replace function public.accept_invitation(token text)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  invitation public.project_invitations;
begin
  if auth.uid() is null then
    raise exception 'sign in to accept an invitation' using errcode = '42501';
  end if;
  select * into invitation
  from public.project_invitations i
  where i.token_hash = private.invitation_token_hash(coalesce(accept_invitation.token, ''))
  for update;
  if not found then
    raise exception 'invitation not found' using errcode = 'PT404';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'invitation has already been used' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null then
    raise exception 'invitation has been revoked' using errcode = 'PT409';
  end if;
  if invitation.expires_at <= now() then
    raise exception 'invitation has expired' using errcode = 'PT409';
  end if;
  if lower(coalesce(auth.email(), '')) <> invitation.email then
    raise exception 'this invitation was sent to another email address' using errcode = '42501';
  end if;

  insert into public.project_members (project_id, user_id, role, invited_by)
  values (invitation.project_id, auth.uid(), invitation.role, invitation.invited_by)
  on conflict (project_id, user_id) do nothing;

  update public.project_invitations set accepted_at = now() where id = invitation.id;
  return invitation.project_id;
end;
$$;
comment on function public.accept_invitation(text) is
  'Joins the invitation''s project with its role; the caller''s email must match.';
revoke all on function public.accept_invitation(text) from public, anon;
grant execute on function public.accept_invitation(text) to authenticated, service_role;

/**
 * Revokes a pending invitation. Owners of its project only.
 *
 * @example select public.revoke_invitation('…invitation uuid…');
 */
create or replace function public.revoke_invitation(invitation_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  invitation public.project_invitations;
  caller_role public.project_role;
begin
  select * into invitation from public.project_invitations i where i.id = revoke_invitation.invitation_id for update;
  caller_role := private.my_role_in(invitation.project_id);
  if invitation.id is null or caller_role is null then
    raise exception 'invitation not found' using errcode = 'PT404';
  end if;
  if caller_role <> 'owner' then
    raise exception 'only owners can revoke invitations' using errcode = '42501';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'invitation has already been used' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null then
    return;
  end if;
  update public.project_invitations set revoked_at = now() where id = invitation.id;
end;
$$;
comment on function public.revoke_invitation(uuid) is 'Owners revoke a pending invitation.';
revoke all on function public.revoke_invitation(uuid) from public, anon;
grant execute on function public.revoke_invitation(uuid) to authenticated, service_role;

/**
 * Pending invitations addressed to the caller's email (never the token).
 *
 * @example select * from public.my_invitations();
 */
create or replace function public.my_invitations()
returns table (id uuid, project_id uuid, project_name text, role public.project_role, invited_by uuid, expires_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  select i.id, i.project_id, p.name, i.role, i.invited_by, i.expires_at
  from public.project_invitations i
  join public.projects p on p.id = i.project_id
  where i.email = lower(auth.email())
    and i.accepted_at is null and i.revoked_at is null and i.expires_at > now()
  order by i.created_at desc;
$$;
comment on function public.my_invitations() is 'Pending invitations for the caller''s email.';
revoke all on function public.my_invitations() from public, anon;
grant execute on function public.my_invitations() to authenticated, service_role;
