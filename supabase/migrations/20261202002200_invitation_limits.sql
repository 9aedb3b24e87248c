-- =============================================================================
-- Domain: limits on invitations, now that they are mailed
--
-- Since 20261202002100 every create_invitation sends a mail whose subject carries the
-- inviter's display name and the project's name, both chosen by the inviter, and anyone
-- signed in can create a project and invite from it through the Data API. So:
--   1. anonymous users (auth.users.is_anonymous) neither invite nor accept: with
--      confirmations off, an anonymous user who adds an email has it counted confirmed at
--      once, which would let them accept from the list an invitation meant for that
--      address's owner (and a sign-up with that address can do the same: production keeps
--      confirmations on, README says so);
--   2. an inviter creates at most 100 invitations an hour, and one address is invited to
--      one project at most 5 times an hour, so re-inviting cannot flood a mailbox. Both
--      answer PT429 (PostgREST: 429; the functions: rate_limited).
-- Both are triggers on project_invitations, so every path (the RPC, an owner's direct
-- insert, a future one) is held to them; an exception aborts the whole statement, so a
-- refused acceptance leaves no membership behind.
-- =============================================================================

set local lock_timeout = '5s';

-- Section: who may invite, and how often

create index project_invitations_invited_by_created_at_idx on public.project_invitations (invited_by, created_at);
create index project_invitations_project_email_created_at_idx on public.project_invitations (project_id, email, created_at);

/**
 * Refuses an invitation from an anonymous user, the 101st invitation of an inviter in an
 * hour and the 6th of one address to one project in an hour.
 */
create or replace function private.limit_invitations()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from auth.users u where u.id = new.invited_by and u.is_anonymous) then
    raise exception 'anonymous users cannot invite people; sign up with an email first' using errcode = '42501';
  end if;
  if (select count(*) from public.project_invitations i
      where i.invited_by = new.invited_by and i.created_at > now() - interval '1 hour') >= 100 then
    raise exception 'too many invitations: at most 100 an hour' using errcode = 'PT429';
  end if;
  if (select count(*) from public.project_invitations i
      where i.project_id = new.project_id and i.email = new.email and i.created_at > now() - interval '1 hour') >= 5 then
    raise exception '% was invited to this project 5 times in the last hour; try again later', new.email using errcode = 'PT429';
  end if;
  return new;
end;
$$;
comment on function private.limit_invitations() is
  'Trigger: no invitations from anonymous users; at most 100 per inviter and 5 per address and project an hour.';
revoke all on function private.limit_invitations() from public, anon, authenticated, service_role;

create trigger limit_invitations
  before insert on public.project_invitations
  for each row execute function private.limit_invitations();

-- Section: who may accept

/**
 * Refuses the acceptance of an invitation by an anonymous user (whichever accept RPC).
 */
create or replace function private.refuse_anonymous_acceptance()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.accepted_at is null and new.accepted_at is not null
     and exists (select 1 from auth.users u where u.id = auth.uid() and u.is_anonymous) then
    raise exception 'anonymous users cannot accept invitations; sign up with an email first' using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function private.refuse_anonymous_acceptance() is
  'Trigger: an anonymous user cannot accept an invitation, by token or from the list.';
revoke all on function private.refuse_anonymous_acceptance() from public, anon, authenticated, service_role;

create trigger refuse_anonymous_acceptance
  before update of accepted_at on public.project_invitations
  for each row execute function private.refuse_anonymous_acceptance();
