-- =============================================================================
-- Platform variant: no default privileges in schema public
--
-- Not part of the bootstrap: db:setup applies it after the bootstrap only with
-- --without-default-privileges, and the test harness builds its main test database with
-- it (the second one keeps the bootstrap's, as `supabase start` has them). It models a
-- project where new objects in public are granted to nobody — hosted projects since the
-- 2026 change for what postgres creates, or any project whose owner revoked them — so the
-- suite proves every migration grants exactly what it needs under both. supabase_admin's
-- entries go too: on hosted projects they remain, but they only reach objects
-- supabase_admin creates, and the migrations run as postgres. Run as the superuser.
-- =============================================================================

alter default privileges for role postgres in schema public revoke all on tables from postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on functions from postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public revoke all on tables from postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public revoke all on functions from postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public revoke all on sequences from postgres, anon, authenticated, service_role;
