-- =============================================================================
-- Domain: projects and memberships — the creator's owner membership is written only for
-- project rows the statement really inserts
--
-- Until this migration private.add_creator_as_owner ran BEFORE INSERT on projects and wrote
-- the owner membership before PostgreSQL knew whether the row would be inserted. With an
-- id that already exists and `on conflict do nothing` (supabase-js
-- `upsert(row, { ignoreDuplicates: true })`) the row was skipped but the membership stayed:
-- anyone who knew a project's id (invitees see it in my_invitations(), former members keep
-- it) became its owner.
--
-- Now:
--   * BEFORE INSERT only pins created_by to the caller (private.pin_created_by, now shared
--     with jobs); it changes the proposed row and writes nothing else.
--   * AFTER INSERT, per row, writes the owner membership (private.add_creator_as_owner).
--     PostgreSQL fires AFTER INSERT row triggers only for rows the statement inserted:
--     never for a row skipped by ON CONFLICT DO NOTHING, never for the update branch of
--     ON CONFLICT DO UPDATE; and a statement that fails, or whose savepoint is rolled back,
--     takes the membership with it.
--   * PostgreSQL checks the read policy of `insert ... returning` (supabase-js
--     `.insert().select()`) on the proposed row BEFORE inserting it, so at that moment the
--     creator is not a member yet. The read policy therefore also admits a row whose
--     created_by is the caller and whose id is not stored yet (private.project_exists,
--     which sees what the running statement sees). Every row a query reads is stored, so
--     this branch only ever admits a row being inserted by its own creator.
--   * The memberships' foreign key to projects is no longer deferred: it was deferred only
--     so that the BEFORE trigger could write the membership ahead of its project.
--
-- What an insert or upsert on projects does for an id that already exists (as
-- `authenticated`; none of these creates or changes a membership):
--   * plain insert: 23505 unique violation (PostgREST: 409).
--   * upsert with ignoreDuplicates (PostgREST `on conflict ("id") do nothing`): nothing
--     happens for a member of that project (no row comes back); anyone else gets 42501
--     (403), because a conflict target makes PostgreSQL check the read policy on the row.
--   * upsert with merge-duplicates (PostgREST `on conflict ("id") do update set "id" =
--     excluded."id", ...`): 42501 (403) for everyone, new ids included: `authenticated` may
--     update only name and description, never id. Edit a project with update().
--   * SQL `on conflict (id) do update set name = ...` (no PostgREST request produces it):
--     the update policy decides, as for update(): collaborators and owners edit name and
--     description, anyone else gets 42501.
--   * SQL `on conflict do nothing` without a target: the row is skipped.
-- =============================================================================

-- A policy change locks projects (and, on hosted Supabase, the tables supautils guards)
-- until commit; give up rather than queue behind long transactions. The CLI runs each
-- migration file as one transaction, so `set local` lasts exactly this file.
set local lock_timeout = '5s';

-- Section: helpers

/**
 * Whether a project with this id is stored, as the running statement sees the table (stable:
 * the statement's snapshot, so a row that the same statement is inserting is not stored yet).
 * The projects read policy calls it to let `insert ... returning` show a new project to its
 * creator before the AFTER INSERT trigger has made them its owner.
 */
create or replace function private.project_exists(project_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.projects p where p.id = project_exists.project_id);
$$;
comment on function private.project_exists(uuid) is
  'Whether the project is stored, as the running statement sees it (false for a row being inserted).';
revoke all on function private.project_exists(uuid) from public, anon, authenticated, service_role;
grant execute on function private.project_exists(uuid) to authenticated, service_role;

-- Section: triggers

drop trigger if exists projects_add_creator_as_owner on public.projects;

/**
 * Pins created_by to the signed-in caller, so nobody creates a row in someone else's name;
 * a service connection (no auth.uid()) keeps the created_by it gives. One function for every
 * table with a created_by (projects, jobs); it replaces private.initialize_job, which did
 * the same for jobs.
 */
create or replace function private.pin_created_by()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if auth.uid() is not null then
    new.created_by := auth.uid();
  end if;
  return new;
end;
$$;
comment on function private.pin_created_by() is 'Trigger: a user''s row is always created in their name.';
revoke all on function private.pin_created_by() from public, anon, authenticated, service_role;

/**
 * Makes the creator of a project that was just inserted its first owner. AFTER INSERT, so it
 * runs only for rows the statement did insert (see this migration's banner). A project
 * created by a service connection without created_by starts without members.
 */
create or replace function private.add_creator_as_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.created_by is not null then
    insert into public.project_members (project_id, user_id, role, invited_by)
    values (new.id, new.created_by, 'owner', null);
  end if;
  return null;
end;
$$;
comment on function private.add_creator_as_owner() is
  'Trigger (after insert): the creator of a newly inserted project becomes its owner.';
revoke all on function private.add_creator_as_owner() from public, anon, authenticated, service_role;

create trigger projects_pin_created_by
  before insert on public.projects
  for each row execute function private.pin_created_by();

create trigger projects_add_creator_as_owner
  after insert on public.projects
  for each row execute function private.add_creator_as_owner();

drop trigger if exists jobs_initialize on public.jobs;
drop function if exists private.initialize_job();
create trigger jobs_pin_created_by
  before insert on public.jobs
  for each row execute function private.pin_created_by();

-- Section: memberships reference stored projects at once

alter table public.project_members
  alter constraint project_members_project_id_fkey not deferrable initially immediate;

-- Section: RLS policies

drop policy if exists "members read their projects" on public.projects;
create policy "members read their projects"
  on public.projects for select to authenticated
  using (
    id = any ((select private.my_project_ids())::uuid[])
    or (created_by = (select auth.uid()) and not private.project_exists(id))
  );

-- The policy's old fallback for multi-row `insert ... returning` is replaced by the branch
-- above; nothing else calls it.
drop function if exists private.is_member_of(uuid);
