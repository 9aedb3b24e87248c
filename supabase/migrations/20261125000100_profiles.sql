-- =============================================================================
-- Domain: profiles
--
-- One public profile per auth user, kept in step with auth.users by triggers. Also
-- creates the `private` schema that holds every security-definer helper Tandem's
-- policies call (it is not exposed through the API).
-- =============================================================================

-- Section: private schema and shared helpers

create schema if not exists private;
comment on schema private is 'Tandem internals: security-definer helpers for policies and triggers. Not exposed by the API.';
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

/**
 * Sets updated_at to now() on every update. Used by every table with an updated_at column.
 */
create or replace function private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.touch_updated_at() is 'Trigger: keeps updated_at current on every update.';
revoke all on function private.touch_updated_at() from public;

-- Section: table

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text check (email is null or char_length(email) <= 320),
  display_name text check (display_name is null or char_length(display_name) between 1 and 100),
  avatar_url text check (avatar_url is null or char_length(avatar_url) <= 2048),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is
  'Public profile of each user; created by a trigger on auth.users. Readable by the user and by everyone who shares a project with them.';

create trigger profiles_touch_updated_at
  before update on public.profiles
  for each row execute function private.touch_updated_at();

-- Section: sync with auth.users

/**
 * Creates the profile of a new auth user, taking display_name from the sign-up metadata.
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
    left(nullif(new.raw_user_meta_data ->> 'avatar_url', ''), 2048)
  )
  on conflict (id) do nothing;
  return new;
end;
$$;
comment on function private.create_profile_for_user() is 'Trigger on auth.users: creates the user''s profile.';
revoke all on function private.create_profile_for_user() from public;

/**
 * Keeps profiles.email equal to auth.users.email when the user changes it.
 */
create or replace function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profiles set email = new.email where id = new.id;
  return new;
end;
$$;
comment on function private.sync_profile_email() is 'Trigger on auth.users: copies a changed email to the profile.';
revoke all on function private.sync_profile_email() from public;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function private.create_profile_for_user();

create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

-- Backfill: users that existed before this migration get their profile now.
insert into public.profiles (id, email, display_name)
select u.id, u.email, left(coalesce(nullif(btrim(u.raw_user_meta_data ->> 'display_name'), ''),
                                    nullif(split_part(u.email, '@', 1), '')), 100)
from auth.users u
on conflict (id) do nothing;

-- Section: grants (new tables are not exposed automatically)

grant select on public.profiles to authenticated;
grant update (display_name, avatar_url) on public.profiles to authenticated;
grant select, insert, update, delete on public.profiles to service_role;

-- RLS policies for profiles are in the projects migration: who may read a profile depends
-- on shared project membership.
alter table public.profiles enable row level security;
