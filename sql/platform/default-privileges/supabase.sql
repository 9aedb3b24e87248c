-- =============================================================================
-- Platform variant: Supabase's default privileges in schema public
--
-- Not part of the bootstrap (db:setup applies it only with --supabase-default-privileges;
-- the test harness builds a second database with it). It gives a plain database the
-- default privileges that `supabase start`, self-hosted Supabase and hosted projects
-- created before the 2026 change have: supabase/postgres's
-- migrations/db/init-scripts/00000000000000-initial-schema.sql, which migrate.sh runs as
-- `postgres` (so its unqualified statements are for role postgres), and its explicit
-- `for user supabase_admin` statements. New tables, sequences and functions in public then
-- grant ALL to anon, authenticated and service_role, so every migration must revoke
-- before it grants. Run as the superuser, after the bootstrap.
-- =============================================================================

alter default privileges for role postgres in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to postgres, anon, authenticated, service_role;

alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
