-- =============================================================================
-- Domain: projects and memberships
--
-- Projects (workspaces) and their members with roles owner / collaborator / viewer.
-- Row-level security is the authorization layer: see the role matrix in README.md.
-- Invariant: every project keeps at least one owner, yet deleting a project or a user is
-- never blocked.
-- =============================================================================

-- Section: types

create type public.project_role as enum ('owner', 'collaborator', 'viewer');
comment on type public.project_role is 'A member''s role in a project: owner > collaborator > viewer.';

-- Section: tables

create table public.projects (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(btrim(name)) between 1 and 200),
  description text not null default '' check (char_length(description) <= 2000),
  created_by uuid references auth.users (id) on delete set null default auth.uid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.projects is 'A workspace. Its creator becomes its first owner.';

create table public.project_members (
  -- Deferred so the owner membership can be written before its project row (see
  -- private.add_creator_as_owner); cascades still happen at once.
  project_id uuid not null references public.projects (id) on delete cascade deferrable initially deferred,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.project_role not null default 'viewer',
  invited_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (project_id, user_id)
);
comment on table public.project_members is 'Who belongs to which project, and with which role.';

-- Section: indexes (one behind every policy predicate)

create index project_members_user_id_idx on public.project_members (user_id, project_id) include (role);
create index project_members_project_role_idx on public.project_members (project_id, role, created_at);
create index project_members_invited_by_idx on public.project_members (invited_by);
create index projects_created_by_idx on public.projects (created_by);

-- Section: policy helpers (security definer, so they never recurse through RLS)

/**
 * Ids of the projects in which the current user holds one of `roles`.
 * Policies call it as `id = any ((select private.my_project_ids(...))::uuid[])`: one evaluation
 * per statement and an index scan on the primary key.
 * Volatile on purpose: a volatile function takes a fresh snapshot, so it sees the owner
 * membership that private.add_creator_as_owner wrote earlier in the same INSERT, which
 * `insert ... returning` (supabase-js `.insert().select()`) needs to read the new project.
 */
create or replace function private.my_project_ids(
  roles public.project_role[] default '{owner,collaborator,viewer}'
)
returns uuid[]
language sql
volatile
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.project_id), '{}')
  from public.project_members m
  where m.user_id = (select auth.uid())
    and m.role = any (roles);
$$;
comment on function private.my_project_ids(public.project_role[]) is
  'Projects in which the current user holds one of the given roles.';
revoke all on function private.my_project_ids(public.project_role[]) from public;
grant execute on function private.my_project_ids(public.project_role[]) to authenticated, service_role;

/**
 * Whether the current user is a member of the project at this moment. Volatile for the
 * same reason as my_project_ids: the projects read policy falls back to it for projects
 * created earlier in the same statement (a multi-row `insert ... returning`), which the
 * once-per-statement list from my_project_ids was computed too early to contain.
 */
create or replace function private.is_member_of(project_id uuid)
returns boolean
language sql
volatile
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.project_members m
    where m.project_id = is_member_of.project_id and m.user_id = (select auth.uid())
  );
$$;
comment on function private.is_member_of(uuid) is 'Whether the current user is a member of the project right now.';
revoke all on function private.is_member_of(uuid) from public;
grant execute on function private.is_member_of(uuid) to authenticated, service_role;

/**
 * The current user's role in a project, or null when they are not a member.
 */
create or replace function private.my_role_in(project_id uuid)
returns public.project_role
language sql
stable
security definer
set search_path = ''
as $$
  select m.role
  from public.project_members m
  where m.project_id = my_role_in.project_id
    and m.user_id = (select auth.uid());
$$;
comment on function private.my_role_in(uuid) is 'The current user''s role in the project, or null.';
revoke all on function private.my_role_in(uuid) from public;
grant execute on function private.my_role_in(uuid) to authenticated, service_role;

/**
 * Ids of every user who shares at least one project with the current user (themselves
 * included when they are a member anywhere).
 */
create or replace function private.my_co_member_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct other.user_id), '{}')
  from public.project_members mine
  join public.project_members other on other.project_id = mine.project_id
  where mine.user_id = (select auth.uid());
$$;
comment on function private.my_co_member_ids() is 'Users who share a project with the current user.';
revoke all on function private.my_co_member_ids() from public;
grant execute on function private.my_co_member_ids() to authenticated, service_role;

-- Section: triggers

create trigger projects_touch_updated_at
  before update on public.projects
  for each row execute function private.touch_updated_at();

/**
 * Makes the creator of a project its first owner. Runs BEFORE the insert (the deferred
 * foreign key allows it) so the creator can read the row back in the same statement.
 * A project created by a service connection (no auth.uid()) starts without members.
 */
create or replace function private.add_creator_as_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if auth.uid() is not null then
    -- A user cannot create projects in someone else's name.
    new.created_by := auth.uid();
  end if;
  if new.created_by is not null then
    insert into public.project_members (project_id, user_id, role, invited_by)
    values (new.id, new.created_by, 'owner', null)
    on conflict do nothing;
  end if;
  return new;
end;
$$;
comment on function private.add_creator_as_owner() is 'Trigger: the creator of a project becomes its owner.';
revoke all on function private.add_creator_as_owner() from public;

create trigger projects_add_creator_as_owner
  before insert on public.projects
  for each row execute function private.add_creator_as_owner();

/**
 * Refuses to remove or demote the last owner of a project (SQLSTATE P0001, message
 * "a project must keep at least one owner"), except while the project itself or the
 * member's user account is being deleted.
 */
create or replace function private.keep_last_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  result_row public.project_members := case when tg_op = 'DELETE' then old else new end;
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner') then
    return result_row;
  end if;
  -- Deleting the project (cascade) or the user (cascade) is never blocked.
  if not exists (select 1 from public.projects p where p.id = old.project_id)
     or not exists (select 1 from auth.users u where u.id = old.user_id) then
    return result_row;
  end if;
  -- Serializes concurrent removals of owners of the same project.
  perform 1 from public.projects p where p.id = old.project_id for update;
  if not exists (
    select 1 from public.project_members m
    where m.project_id = old.project_id and m.role = 'owner' and m.user_id <> old.user_id
  ) then
    raise exception 'a project must keep at least one owner'
      using errcode = 'P0001',
            hint = 'Make another member an owner first, or delete the project.';
  end if;
  return result_row;
end;
$$;
comment on function private.keep_last_owner() is 'Trigger: every project keeps at least one owner.';
revoke all on function private.keep_last_owner() from public;

create trigger project_members_keep_last_owner
  before update of role or delete on public.project_members
  for each row execute function private.keep_last_owner();

/**
 * After an owner's membership goes because their account is being deleted (the cascade
 * from auth.users): when the project has no owner with a live account left, the
 * longest-standing remaining member becomes owner; a project left with no member is
 * deleted. It works per membership row, after the accounts are gone, so deleting several
 * users in one statement (all owners of a project, or all its members) is handled too.
 */
create or replace function private.hand_over_orphaned_project()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  successor uuid;
begin
  -- Only a deleted account orphans a project: any other removal of the last owner is
  -- refused by keep_last_owner, and a deleted project needs nothing.
  if exists (select 1 from auth.users u where u.id = old.user_id)
     or not exists (select 1 from public.projects p where p.id = old.project_id) then
    return null;
  end if;
  -- Serializes hand-overs and owner removals of the same project.
  perform 1 from public.projects p where p.id = old.project_id for update;
  if exists (
    select 1 from public.project_members m join auth.users u on u.id = m.user_id
    where m.project_id = old.project_id and m.role = 'owner'
  ) then
    return null;
  end if;
  select m.user_id into successor
  from public.project_members m join auth.users u on u.id = m.user_id
  where m.project_id = old.project_id
  order by m.created_at, m.user_id
  limit 1;
  if successor is null then
    delete from public.projects p where p.id = old.project_id;
  else
    update public.project_members m set role = 'owner'
    where m.project_id = old.project_id and m.user_id = successor;
  end if;
  return null;
end;
$$;
comment on function private.hand_over_orphaned_project() is
  'Trigger: keeps every project owned (or deletes it when empty) when users are deleted.';
revoke all on function private.hand_over_orphaned_project() from public;

create trigger project_members_hand_over_orphaned_project
  after delete on public.project_members
  for each row when (old.role = 'owner')
  execute function private.hand_over_orphaned_project();

-- Section: RLS policies

alter table public.projects enable row level security;
alter table public.project_members enable row level security;

-- The second branch only runs for rows the user created that are missing from the list
-- (in practice: the rows of a multi-row insert ... returning, after the first).
create policy "members read their projects"
  on public.projects for select to authenticated
  using (
    id = any ((select private.my_project_ids())::uuid[])
    or (created_by = (select auth.uid()) and private.is_member_of(id))
  );

create policy "signed-in users create projects"
  on public.projects for insert to authenticated
  with check ((select auth.uid()) is not null);

create policy "collaborators and owners edit projects"
  on public.projects for update to authenticated
  using (id = any ((select private.my_project_ids('{owner,collaborator}'))::uuid[]))
  with check (id = any ((select private.my_project_ids('{owner,collaborator}'))::uuid[]));

create policy "owners delete projects"
  on public.projects for delete to authenticated
  using (id = any ((select private.my_project_ids('{owner}'))::uuid[]));

create policy "members read the members of their projects"
  on public.project_members for select to authenticated
  using (project_id = any ((select private.my_project_ids())::uuid[]));

-- No insert policy: memberships come from project creation and accept_invitation().

create policy "owners change roles"
  on public.project_members for update to authenticated
  using (project_id = any ((select private.my_project_ids('{owner}'))::uuid[]))
  with check (project_id = any ((select private.my_project_ids('{owner}'))::uuid[]));

create policy "owners remove members and members leave"
  on public.project_members for delete to authenticated
  using (user_id = (select auth.uid()) or project_id = any ((select private.my_project_ids('{owner}'))::uuid[]));

create policy "users read their own profile and their co-members'"
  on public.profiles for select to authenticated
  using (id = (select auth.uid()) or id = any ((select private.my_co_member_ids())::uuid[]));

create policy "users edit their own profile"
  on public.profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- No insert or delete policy on profiles: they follow auth.users.

-- Section: grants

grant select, delete on public.projects to authenticated;
grant insert (id, name, description) on public.projects to authenticated;
grant update (name, description) on public.projects to authenticated;
grant select, insert, update, delete on public.projects to service_role;

grant select, delete on public.project_members to authenticated;
grant update (role) on public.project_members to authenticated;
grant select, insert, update, delete on public.project_members to service_role;
