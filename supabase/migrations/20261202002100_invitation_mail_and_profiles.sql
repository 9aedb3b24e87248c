-- =============================================================================
-- Domain: invitations that reach people, and editable profiles
--
-- 1. Mailed invitations. create_invitation still returns the raw token once to the
--    inviting owner (only its hash is in project_invitations); it also writes the same
--    token to a private outbox, `private.invitation_mail`, that no API role can read, and
--    NOTIFYs `tandem_mail` with the invitation id. The worker (connected as the database
--    owner) drains the outbox: it mails the invitee an accept link, retries failed sends
--    with backoff, records `mailed_at`, `mail_attempts` and `last_mail_error` on the
--    invitation (owners-only, like the rest of the table) and deletes the raw token once
--    the mail is sent, or when the invitation is accepted, revoked, replaced or given up.
--    The mail is not a `jobs` row, so nothing about it reaches `jobs` readers or
--    `job_updated` events, and there is no job type a client could submit for it.
-- 2. Accepting from the list: `accept_invitation_from_list(invitation_id)` joins without
--    the token, for a pending invitation addressed to the caller's account email, only when
--    that email is confirmed (`auth.users.email_confirmed_at`).
-- 3. Re-inviting an address with a pending invitation mints a new token and revokes the
--    old invitation, recording `replaced_by`; the old token is then refused with "replaced
--    by a newer invitation". For a wrong user, "sent to another email address" comes
--    before "used", "revoked"/"replaced" and "expired": a stranger holding a token learns
--    nothing about its state.
-- 4. Profiles: `public.profiles` is the source of truth for display_name and avatar_url
--    (RLS: the user updates their own row). supabase-js `auth.updateUser({ data: {
--    display_name, avatar_url } })` is kept in sync both ways by triggers: metadata
--    changes are copied to the profile, profile changes to `raw_user_meta_data`. Avatars
--    are images apps render: only http(s) URLs are kept (a check on new writes; from the
--    metadata, anything else becomes null rather than failing the Auth request).
-- =============================================================================

set local lock_timeout = '5s';

-- Section: mail status on invitations

alter table public.project_invitations
  add column mailed_at timestamptz,
  add column mail_attempts integer not null default 0 check (mail_attempts >= 0),
  add column last_mail_error text check (last_mail_error is null or char_length(last_mail_error) <= 1000),
  add column replaced_by uuid references public.project_invitations (id) on delete set null;
comment on column public.project_invitations.mailed_at is 'When the invitation mail was accepted by the SMTP server (null: not yet).';
comment on column public.project_invitations.mail_attempts is 'How many times the worker tried to send the invitation mail.';
comment on column public.project_invitations.last_mail_error is 'Why the last send failed (null once a send succeeds).';
comment on column public.project_invitations.replaced_by is 'The newer invitation of the same address that revoked this one.';

create index project_invitations_replaced_by_idx on public.project_invitations (replaced_by);

grant select (mailed_at, mail_attempts, last_mail_error, replaced_by) on public.project_invitations to authenticated;

-- Section: the private outbox

create table private.invitation_mail (
  invitation_id uuid primary key references public.project_invitations (id) on delete cascade,
  token text not null check (token ~ '^[0-9a-f]{64}$'),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
comment on table private.invitation_mail is
  'Outbox of invitation mails: the raw token until the worker has mailed it. Read only by the database owner (the worker).';
create index invitation_mail_due_idx on private.invitation_mail (next_attempt_at);
revoke all on table private.invitation_mail from public, anon, authenticated, service_role;

-- Section: helpers

/**
 * Joins the caller to a locked, pending invitation's project: refuses used, revoked,
 * replaced and expired invitations with distinct messages, then adds the membership
 * (an existing member keeps their role), marks it accepted and drops its outbox row.
 */
create or replace function private.join_invitation(invitation public.project_invitations)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if invitation.accepted_at is not null then
    raise exception 'invitation has already been used' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null and invitation.replaced_by is not null then
    raise exception 'invitation was replaced by a newer invitation to the same address; use the latest one' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null then
    raise exception 'invitation has been revoked' using errcode = 'PT409';
  end if;
  if invitation.expires_at <= now() then
    raise exception 'invitation has expired' using errcode = 'PT409';
  end if;

  insert into public.project_members (project_id, user_id, role, invited_by)
  values (invitation.project_id, auth.uid(), invitation.role, invitation.invited_by)
  on conflict (project_id, user_id) do nothing;

  update public.project_invitations set accepted_at = now() where id = invitation.id;
  delete from private.invitation_mail where invitation_id = invitation.id;
  return invitation.project_id;
end;
$$;
comment on function private.join_invitation(public.project_invitations) is
  'Accepts a locked invitation for auth.uid() after the state checks; used by both accept RPCs.';
revoke all on function private.join_invitation(public.project_invitations) from public, anon, authenticated, service_role;

-- Section: RPCs

/**
 * Invites `email` to `project_id` with `role` and returns the raw token (shown once).
 * Owners only. A pending invitation of the same address is revoked and marked replaced by
 * this one. The token is also queued, privately, for the worker to mail.
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
  new_id uuid := gen_random_uuid();
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

  insert into public.project_invitations (id, project_id, email, role, token_hash, invited_by)
  values (new_id, create_invitation.project_id, normalized_email, create_invitation.role,
          private.invitation_token_hash(raw_token), auth.uid());

  with replaced as (
    update public.project_invitations i
    set revoked_at = now(), replaced_by = new_id
    where i.project_id = create_invitation.project_id and i.email = normalized_email and i.id <> new_id
      and i.accepted_at is null and i.revoked_at is null
    returning i.id
  )
  delete from private.invitation_mail m using replaced where m.invitation_id = replaced.id;

  insert into private.invitation_mail (invitation_id, token) values (new_id, raw_token);
  -- Only the id travels: the worker reads the rest from the outbox.
  perform pg_notify('tandem_mail', new_id::text);
  return raw_token;
end;
$$;
comment on function public.create_invitation(uuid, text, public.project_role) is
  'Owners invite an email with a role; returns the raw token once and queues the invitation mail.';
revoke all on function public.create_invitation(uuid, text, public.project_role) from public, anon, authenticated, service_role;
grant execute on function public.create_invitation(uuid, text, public.project_role) to authenticated, service_role;

/**
 * Accepts an invitation with its raw token and returns the project id. The caller's JWT
 * email must be the invited one, and that is checked first: a wrong user is told only
 * that the invitation was sent to another address.
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
  if lower(coalesce(auth.email(), '')) <> invitation.email then
    raise exception 'this invitation was sent to another email address' using errcode = '42501';
  end if;
  return private.join_invitation(invitation);
end;
$$;
comment on function public.accept_invitation(text) is
  'Joins the invitation''s project with its role; the caller''s email must match.';
revoke all on function public.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation(text) to authenticated, service_role;

/**
 * Accepts, without the token, a pending invitation addressed to the caller's account
 * email (auth.users.email), only when that email is confirmed. An invitation addressed to
 * someone else is "not found". Returns the project id.
 *
 * @example select public.accept_invitation_from_list('…invitation uuid…');
 */
create or replace function public.accept_invitation_from_list(invitation_id uuid)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  invitation public.project_invitations;
  account_email text;
  confirmed_at timestamptz;
begin
  if auth.uid() is null then
    raise exception 'sign in to accept an invitation' using errcode = '42501';
  end if;
  select lower(u.email), u.email_confirmed_at into account_email, confirmed_at from auth.users u where u.id = auth.uid();
  select * into invitation
  from public.project_invitations i
  where i.id = accept_invitation_from_list.invitation_id
  for update;
  if not found or account_email is null or invitation.email <> account_email then
    raise exception 'invitation not found' using errcode = 'PT404';
  end if;
  if confirmed_at is null then
    raise exception 'confirm your email address to accept from your list, or open the link in the invitation mail'
      using errcode = '42501';
  end if;
  return private.join_invitation(invitation);
end;
$$;
comment on function public.accept_invitation_from_list(uuid) is
  'Joins a pending invitation addressed to the caller''s confirmed account email, without the token.';
revoke all on function public.accept_invitation_from_list(uuid) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation_from_list(uuid) to authenticated, service_role;

/**
 * Revokes a pending invitation (and drops its unsent mail). Owners of its project only.
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
  delete from private.invitation_mail where private.invitation_mail.invitation_id = invitation.id;
  if invitation.revoked_at is not null then
    return;
  end if;
  update public.project_invitations set revoked_at = now() where id = invitation.id;
end;
$$;
comment on function public.revoke_invitation(uuid) is 'Owners revoke a pending invitation.';
revoke all on function public.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.revoke_invitation(uuid) to authenticated, service_role;

-- Section: profiles in step with the Auth user's metadata

/**
 * The avatar URL to store for `url`: trimmed, http(s), at most 2048 characters; else null.
 */
create or replace function private.avatar_url_or_null(url text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when btrim(url) ~* '^https?://[^\s]+$' and char_length(btrim(url)) <= 2048 then btrim(url) end;
$$;
comment on function private.avatar_url_or_null(text) is 'An http(s) avatar URL of at most 2048 characters, else null.';
revoke all on function private.avatar_url_or_null(text) from public, anon, authenticated, service_role;

/**
 * Creates the profile of a new auth user from the sign-up metadata (as before), keeping
 * only an http(s) avatar URL.
 */
create or replace function private.create_profile_for_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email, display_name, avatar_url)
  values (
    new.id,
    new.email,
    left(coalesce(
      nullif(btrim(new.raw_user_meta_data ->> 'display_name'), ''),
      nullif(btrim(new.raw_user_meta_data ->> 'full_name'), ''),
      nullif(split_part(new.email, '@', 1), '')
    ), 100),
    private.avatar_url_or_null(new.raw_user_meta_data ->> 'avatar_url')
  )
  on conflict (id) do nothing;
  return new;
end;
$$;
comment on function private.create_profile_for_user() is 'Trigger on auth.users: creates the user''s profile.';
revoke all on function private.create_profile_for_user() from public, anon, authenticated, service_role;

/**
 * Trigger on auth.users: a display_name or avatar_url set through `auth.updateUser({ data
 * })` is copied to the profile (only the keys present; an empty string, or an avatar that
 * is not an http(s) URL, clears it).
 */
create or replace function private.profile_from_user_metadata()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  meta jsonb := coalesce(new.raw_user_meta_data, '{}');
begin
  update public.profiles p
  set display_name = case when meta ? 'display_name'
                          then left(nullif(btrim(meta ->> 'display_name'), ''), 100) else p.display_name end,
      avatar_url = case when meta ? 'avatar_url'
                        then private.avatar_url_or_null(meta ->> 'avatar_url') else p.avatar_url end
  where p.id = new.id
    and ((meta ? 'display_name' and p.display_name is distinct from left(nullif(btrim(meta ->> 'display_name'), ''), 100))
      or (meta ? 'avatar_url' and p.avatar_url is distinct from private.avatar_url_or_null(meta ->> 'avatar_url')));
  return new;
end;
$$;
comment on function private.profile_from_user_metadata() is
  'Trigger on auth.users: copies display_name and avatar_url from the user metadata to the profile.';
revoke all on function private.profile_from_user_metadata() from public, anon, authenticated, service_role;

create trigger on_auth_user_metadata_changed
  after update of raw_user_meta_data on auth.users
  for each row when (old.raw_user_meta_data is distinct from new.raw_user_meta_data)
  execute function private.profile_from_user_metadata();

/**
 * Trigger on profiles: an edited display_name or avatar_url is written back to the Auth
 * user's metadata, so a session refreshed afterwards carries the same values. Only the
 * fields that changed are touched; a cleared one is removed from the metadata.
 */
create or replace function private.user_metadata_from_profile()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  current_meta jsonb;
  meta jsonb;
begin
  select coalesce(u.raw_user_meta_data, '{}') into current_meta from auth.users u where u.id = new.id;
  if not found then
    return new;
  end if;
  meta := current_meta;
  if old.display_name is distinct from new.display_name then
    meta := case when new.display_name is null then meta - 'display_name'
                 else meta || jsonb_build_object('display_name', new.display_name) end;
  end if;
  if old.avatar_url is distinct from new.avatar_url then
    meta := case when new.avatar_url is null then meta - 'avatar_url'
                 else meta || jsonb_build_object('avatar_url', new.avatar_url) end;
  end if;
  if meta is distinct from current_meta then
    update auth.users u set raw_user_meta_data = meta where u.id = new.id;
  end if;
  return new;
end;
$$;
comment on function private.user_metadata_from_profile() is
  'Trigger on profiles: copies display_name and avatar_url to auth.users.raw_user_meta_data.';
revoke all on function private.user_metadata_from_profile() from public, anon, authenticated, service_role;

create trigger profiles_to_user_metadata
  after update of display_name, avatar_url on public.profiles
  for each row when (old.display_name is distinct from new.display_name or old.avatar_url is distinct from new.avatar_url)
  execute function private.user_metadata_from_profile();

-- Rows written before this migration are left as they are (`not valid`); every new write
-- is checked, so a client's update with another scheme is a 400 (23514).
alter table public.profiles
  add constraint profiles_avatar_url_http check (avatar_url is null or avatar_url ~* '^https?://[^\s]+$') not valid;
