-- =============================================================================
-- Platform bootstrap, part 1: roles, schemas, extensions
--
-- Makes a plain PostgreSQL 15+ database look like a Supabase database for everything
-- Tandem uses. Run as the superuser `supabase_admin` (the harness creates clusters with
-- `initdb -U supabase_admin`). Applied only when `auth.users` does not exist, so it never
-- touches a real Supabase database; every statement is idempotent all the same.
-- Nothing in supabase/migrations depends on a shortcut taken here.
-- =============================================================================

-- Section: roles (attributes as on hosted Supabase; see SUPABASE-FACTS.md)

do $roles$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres;
  end if;
  -- On hosted projects `postgres` is not a superuser.
  alter role postgres with nosuperuser createdb createrole login replication bypassrls;

  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin inherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin inherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin inherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_replication_admin') then
    create role supabase_replication_admin login replication;
  end if;
end
$roles$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
-- `postgres` writes policies on realtime.messages in migrations, which takes ownership rights.
grant supabase_realtime_admin to postgres;

alter role postgres set search_path = "$user", public, extensions;
alter role supabase_admin set search_path = public, extensions;
alter role supabase_auth_admin set search_path = auth;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- Section: database and the public schema

do $database$
begin
  execute format('alter database %I owner to postgres', current_database());
  execute format('grant all on database %I to postgres', current_database());
end
$database$;

grant usage on schema public to postgres, anon, authenticated, service_role;
grant create on schema public to postgres;

-- Section: schemas owned by supabase_admin (so `supabase db reset --db-url` keeps them)

create schema if not exists extensions authorization supabase_admin;
create schema if not exists auth authorization supabase_admin;
create schema if not exists realtime authorization supabase_admin;

grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema auth to postgres, anon, authenticated, service_role, supabase_auth_admin;
grant all on schema auth to supabase_auth_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role, supabase_realtime_admin;
grant all on schema realtime to supabase_realtime_admin;

-- Section: extensions

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- Section: publication used by Supabase Realtime's Postgres Changes

do $publication$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$publication$;
