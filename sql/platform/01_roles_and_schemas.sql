-- =============================================================================
-- Platform bootstrap, part 1: roles, schemas, extensions, default privileges
--
-- Makes a plain PostgreSQL 15+ database look like a Supabase database (as `supabase
-- start` builds it) for everything Tandem touches. Run as the superuser `supabase_admin`
-- (the harness creates clusters with `initdb -U supabase_admin`). Applied only when
-- `auth.users` does not exist, so it never touches a real Supabase database; every
-- statement is idempotent all the same. Each fact reproduced here, and each deliberate
-- deviation, is listed with its upstream source in sql/platform/facts.json (explained in
-- sql/platform/README.md) and checked against the catalog by
-- tests/db/platform-facts.test.ts. Nothing in supabase/migrations depends on a shortcut
-- taken here.
-- =============================================================================

-- Section: roles

do $roles$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres;
  end if;
  -- `postgres` is demoted: not a superuser, but it owns the database and runs migrations.
  alter role postgres with nosuperuser createdb createrole login replication bypassrls;

  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role;
  end if;
  -- The API roles were created NOINHERIT and later altered to INHERIT.
  alter role anon with nologin inherit;
  alter role authenticated with nologin inherit;
  alter role service_role with nologin inherit bypassrls;

  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator;
  end if;
  alter role authenticator with login noinherit;

  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin;
  end if;
  -- CREATEROLE was taken from the Auth admin in 2026.
  alter role supabase_auth_admin with noinherit nocreaterole login noreplication;

  if not exists (select 1 from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin;
  end if;
  alter role supabase_realtime_admin with noinherit createrole login replication;

  if not exists (select 1 from pg_roles where rolname = 'supabase_replication_admin') then
    create role supabase_replication_admin;
  end if;
  alter role supabase_replication_admin with login replication;
end
$roles$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to supabase_realtime_admin;

-- PostgreSQL 16 changed CREATEROLE (a creator no longer administers every role), so from 16
-- on the platform gives `postgres` ADMIN on the API roles; on 15 a plain membership.
do $api_roles$
begin
  if current_setting('server_version_num')::int >= 160000 then
    execute 'grant anon, authenticated, service_role to postgres with admin option';
  else
    grant anon, authenticated, service_role to postgres;
  end if;
end
$api_roles$;

-- Deviation (facts.json: postgres-member-of-realtime-admin). On the platform `postgres` is
-- not a member of supabase_realtime_admin: it may create the policies on realtime.messages
-- that supabase/migrations writes because supautils' policy_grants allows it. supautils is
-- not installable here (neither Debian nor npm ships it), so the membership stands in.
grant supabase_realtime_admin to postgres;

alter role postgres set search_path = "$user", public, extensions;
alter role supabase_admin set search_path = "$user", public, auth, extensions;
alter role supabase_auth_admin set search_path = auth;
alter role supabase_realtime_admin set search_path = public, extensions, realtime;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';

-- Section: database and the public schema

do $database$
begin
  execute format('alter database %I owner to postgres', current_database());
  execute format('grant all on database %I to postgres', current_database());
  execute format('grant create on database %I to supabase_auth_admin, supabase_realtime_admin', current_database());
end
$database$;

grant usage on schema public to postgres, anon, authenticated, service_role;
grant create, usage on schema public to supabase_realtime_admin;

-- Section: schemas
-- `extensions` is created by `postgres` (the platform runs its init scripts as postgres);
-- `auth` and `realtime` are owned by supabase_admin, which also keeps them through
-- `supabase db reset --db-url`.

create schema if not exists extensions authorization postgres;
create schema if not exists auth authorization supabase_admin;
create schema if not exists realtime authorization supabase_admin;

grant usage on schema extensions to postgres, anon, authenticated, service_role, supabase_realtime_admin;
grant usage on schema auth to postgres, anon, authenticated, service_role, supabase_realtime_admin;
grant all on schema auth to supabase_auth_admin;
grant usage on schema realtime to anon, authenticated, service_role;
grant usage on schema realtime to postgres with grant option;
grant all on schema realtime to supabase_realtime_admin with grant option;

-- Section: extensions (created as postgres, which owns their schema)

set role postgres;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
reset role;

-- Section: default privileges in public, as `supabase start` has them
-- For objects `postgres` creates and for objects `supabase_admin` creates, ALL to the API
-- roles: every migration therefore revokes before it grants. The test database that
-- lacks them gets sql/platform/variants/without-default-privileges.sql on top.

alter default privileges for role postgres in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;

-- Default privileges in the service schemas: what GoTrue (as supabase_auth_admin) and
-- Realtime (as supabase_admin) create there is granted to postgres.
alter default privileges for role supabase_auth_admin in schema auth grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on routines to postgres;
alter default privileges for role supabase_admin in schema realtime grant all on tables to postgres;
alter default privileges for role supabase_admin in schema realtime grant all on sequences to postgres;
alter default privileges for role supabase_admin in schema realtime grant all on routines to postgres;

-- Section: publication used by Supabase Realtime's Postgres Changes

do $publication$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$publication$;
