-- =============================================================================
-- Domain: realtime authorization and events
--
-- Private channel per project, topic `project:<project_id>`. Members receive broadcast
-- and presence and may track presence; collaborators and owners may broadcast. Triggers
-- announce changes on that topic with realtime.send, and NOTIFY the worker:
--   tandem_cache  {"user_ids": [...]}        whose project listing changed
--   tandem_jobs   {"op": "insert"|"retry"|"cancel", "id": "<job id>"}
-- Event triggers are security definer so an event is never lost to the acting user's
-- own permissions (a viewer who leaves still produces member_left).
-- =============================================================================

-- Section: realtime authorization

/**
 * The current user's role in the project named by the channel topic being authorized
 * (`project:<uuid>`), or null: malformed topics and non-members get null, never an error.
 */
create or replace function private.my_role_in_topic()
returns public.project_role
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  topic text := realtime.topic();
begin
  if topic is null or topic !~* '^project:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return null;
  end if;
  return private.my_role_in(substr(topic, 9)::uuid);
end;
$$;
comment on function private.my_role_in_topic() is 'Role of the current user in the project of the channel topic.';
revoke all on function private.my_role_in_topic() from public;
grant execute on function private.my_role_in_topic() to authenticated, service_role;

-- Both policies also match the row's topic to the channel being authorized, so that a
-- member of one project can never read or write another project's messages, whatever
-- topic setting a connection carries.
create policy "project members receive broadcast and presence"
  on realtime.messages for select to authenticated
  using (
    extension in ('broadcast', 'presence')
    and topic = (select realtime.topic())
    and (select private.my_role_in_topic()) is not null
  );

create policy "members track presence, collaborators and owners broadcast"
  on realtime.messages for insert to authenticated
  with check (
    topic = (select realtime.topic())
    and case extension
      when 'presence' then (select private.my_role_in_topic()) is not null
      when 'broadcast' then (select private.my_role_in_topic()) in ('owner', 'collaborator')
      else false
    end
  );

-- Section: helpers

/**
 * The realtime topic of a project's channel.
 */
create or replace function private.project_topic(project_id uuid)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'project:' || project_id::text;
$$;
comment on function private.project_topic(uuid) is 'Channel topic of a project: project:<id>.';
revoke all on function private.project_topic(uuid) from public;

/**
 * NOTIFYs tandem_cache with the given user ids, in chunks that fit NOTIFY's payload limit.
 */
create or replace function private.notify_listing_changed(user_ids uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  chunk_start integer := 1;
  chunk_size constant integer := 150;
  total integer := coalesce(cardinality(user_ids), 0);
begin
  while chunk_start <= total loop
    perform pg_notify('tandem_cache', json_build_object(
      'user_ids', user_ids[chunk_start : chunk_start + chunk_size - 1]
    )::text);
    chunk_start := chunk_start + chunk_size;
  end loop;
end;
$$;
comment on function private.notify_listing_changed(uuid[]) is
  'Tells the cache invalidator whose project listings changed.';
revoke all on function private.notify_listing_changed(uuid[]) from public;

-- Section: membership events

/**
 * After memberships change (one statement): announces member_joined, member_left and
 * member_role_changed on each project's channel, and NOTIFYs tandem_cache with every
 * member of the touched projects (their member_count changed) plus the departed.
 */
create or replace function private.announce_membership_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  change record;
  affected uuid[];
begin
  if tg_op = 'INSERT' then
    for change in select n.* from new_rows n loop
      perform realtime.send(
        jsonb_build_object('project_id', change.project_id, 'user_id', change.user_id, 'role', change.role,
                           'display_name', (select p.display_name from public.profiles p where p.id = change.user_id),
                           'invited_by', change.invited_by),
        'member_joined', private.project_topic(change.project_id), true);
    end loop;
    select array_agg(distinct m.user_id) into affected
    from public.project_members m where m.project_id in (select n.project_id from new_rows n);
  elsif tg_op = 'UPDATE' then
    for change in
      select n.project_id, n.user_id, n.role, o.role as previous_role
      from new_rows n join old_rows o using (project_id, user_id)
      where n.role is distinct from o.role
    loop
      perform realtime.send(
        jsonb_build_object('project_id', change.project_id, 'user_id', change.user_id,
                           'role', change.role, 'previous_role', change.previous_role),
        'member_role_changed', private.project_topic(change.project_id), true);
    end loop;
    select array_agg(distinct m.user_id) into affected
    from public.project_members m where m.project_id in (select n.project_id from new_rows n);
  else
    -- A project being deleted announces project_deleted instead of one member_left each.
    for change in
      select o.* from old_rows o where exists (select 1 from public.projects p where p.id = o.project_id)
    loop
      perform realtime.send(
        jsonb_build_object('project_id', change.project_id, 'user_id', change.user_id, 'role', change.role),
        'member_left', private.project_topic(change.project_id), true);
    end loop;
    select array_agg(distinct u) into affected
    from (
      select o.user_id as u from old_rows o
      union
      select m.user_id from public.project_members m where m.project_id in (select o.project_id from old_rows o)
    ) users;
  end if;
  perform private.notify_listing_changed(affected);
  return null;
end;
$$;
comment on function private.announce_membership_changes() is
  'Trigger: member_* events and listing invalidation after membership changes.';
revoke all on function private.announce_membership_changes() from public;

create trigger project_members_announce_insert
  after insert on public.project_members
  referencing new table as new_rows
  for each statement execute function private.announce_membership_changes();

create trigger project_members_announce_update
  after update on public.project_members
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.announce_membership_changes();

create trigger project_members_announce_delete
  after delete on public.project_members
  referencing old table as old_rows
  for each statement execute function private.announce_membership_changes();

-- Section: project events

/**
 * After a project is updated or deleted: announces project_updated / project_deleted and
 * NOTIFYs tandem_cache for its members.
 */
create or replace function private.announce_project_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    if (new.name, new.description) is not distinct from (old.name, old.description) then
      return null;
    end if;
    perform realtime.send(
      jsonb_build_object('id', new.id, 'project_id', new.id, 'name', new.name,
                         'description', new.description, 'updated_at', new.updated_at),
      'project_updated', private.project_topic(new.id), true);
    perform private.notify_listing_changed(
      (select array_agg(m.user_id) from public.project_members m where m.project_id = new.id));
  else
    -- Members were removed by the cascade, which already invalidated their listings.
    perform realtime.send(
      jsonb_build_object('id', old.id, 'project_id', old.id),
      'project_deleted', private.project_topic(old.id), true);
  end if;
  return null;
end;
$$;
comment on function private.announce_project_change() is 'Trigger: project_updated / project_deleted events.';
revoke all on function private.announce_project_change() from public;

create trigger projects_announce_update
  after update on public.projects
  for each row execute function private.announce_project_change();

create trigger projects_announce_delete
  after delete on public.projects
  for each row execute function private.announce_project_change();

-- Section: job events

/**
 * After a job row is written: announces job_updated on its project's channel, and
 * NOTIFYs tandem_jobs so the worker enqueues new and retried jobs and aborts cancelled
 * ones, whichever path wrote the row (function, supabase-js or SQL).
 */
create or replace function private.announce_job_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  op text;
begin
  perform realtime.send(
    jsonb_build_object('id', new.id, 'project_id', new.project_id, 'type', new.type, 'status', new.status,
                       'progress', new.progress, 'attempts', new.attempts, 'error', new.error,
                       'updated_at', new.updated_at),
    'job_updated', private.project_topic(new.project_id), true);

  op := case
    when tg_op = 'INSERT' then 'insert'
    when new.status = 'queued' and old.status <> 'queued' then 'retry'
    when new.cancel_requested_at is not null and old.cancel_requested_at is null then 'cancel'
  end;
  if op is not null then
    perform pg_notify('tandem_jobs', json_build_object('op', op, 'id', new.id)::text);
  end if;
  return null;
end;
$$;
comment on function private.announce_job_change() is 'Trigger: job_updated events and tandem_jobs notifications.';
revoke all on function private.announce_job_change() from public;

create trigger jobs_announce_change
  after insert or update on public.jobs
  for each row execute function private.announce_job_change();
