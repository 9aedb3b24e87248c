-- =============================================================================
-- Platform bootstrap, part 4: PostgREST's schema-cache event triggers
--
-- As supabase/postgres installs them (upstream supabase/postgres
-- migrations/db/migrations/20220126121436_finer-postgrest-triggers.sql and
-- 20220321174452_fix-postgrest-alter-type-event-trigger.sql; migrations/schema-16.sql):
-- every DDL that can change what the Data API serves NOTIFYs channel `pgrst` with
-- 'reload schema', and PostgREST (here the devstack's local Data API,
-- devstack/rest/schema-reload.ts) reloads its schema cache. So `supabase db push`,
-- `npm run db:setup` or a hand-run `create table` are visible to `from()` / `rpc()`
-- without a restart. Owned by supabase_admin, as on the platform.
-- =============================================================================

-- Section: functions

create or replace function extensions.pgrst_ddl_watch()
returns event_trigger
language plpgsql
as $$
declare
  cmd record;
begin
  for cmd in select * from pg_event_trigger_ddl_commands()
  loop
    if cmd.command_tag in (
      'CREATE SCHEMA', 'ALTER SCHEMA'
    , 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE'
    , 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE'
    , 'CREATE VIEW', 'ALTER VIEW'
    , 'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW'
    , 'CREATE FUNCTION', 'ALTER FUNCTION'
    , 'CREATE TRIGGER'
    , 'CREATE TYPE', 'ALTER TYPE'
    , 'CREATE RULE'
    , 'COMMENT'
    )
    -- don't notify in case of CREATE TEMP table or other objects created on pg_temp
    and cmd.schema_name is distinct from 'pg_temp'
    then
      notify pgrst, 'reload schema';
    end if;
  end loop;
end; $$;
alter function extensions.pgrst_ddl_watch() owner to supabase_admin;

create or replace function extensions.pgrst_drop_watch()
returns event_trigger
language plpgsql
as $$
declare
  obj record;
begin
  for obj in select * from pg_event_trigger_dropped_objects()
  loop
    if obj.object_type in (
      'schema'
    , 'table'
    , 'foreign table'
    , 'view'
    , 'materialized view'
    , 'function'
    , 'trigger'
    , 'type'
    , 'rule'
    )
    and obj.is_temporary is false -- no pg_temp objects
    then
      notify pgrst, 'reload schema';
    end if;
  end loop;
end; $$;
alter function extensions.pgrst_drop_watch() owner to supabase_admin;

-- Section: event triggers

drop event trigger if exists pgrst_ddl_watch;
create event trigger pgrst_ddl_watch on ddl_command_end
  execute function extensions.pgrst_ddl_watch();
alter event trigger pgrst_ddl_watch owner to supabase_admin;

drop event trigger if exists pgrst_drop_watch;
create event trigger pgrst_drop_watch on sql_drop
  execute function extensions.pgrst_drop_watch();
alter event trigger pgrst_drop_watch owner to supabase_admin;
