-- =============================================================================
-- Domain: realtime — server events on a topic no client may write
--
-- BREAKING CHANGE (channel contract; README.md "Presence and live events",
-- docs/realtime.md "Trust model"):
--   * The triggers' events (member_joined, member_left, member_role_changed,
--     project_updated, project_deleted, job_updated) move from `project:<id>` to the
--     private topic `project:<id>:events`. Clients join it beside the presence channel;
--     nothing the database sends reaches `project:<id>` any more.
--   * Payloads carry ids, statuses and progress only, because a removed member keeps
--     receiving until their access token expires (Realtime re-checks a channel only on
--     join and on a new token):
--       job_updated      {id, project_id, type, status, progress, attempts, updated_at}
--                        (no `error`: read the job under RLS)
--       project_updated  {id, project_id, fields}: the names of the changed columns, not
--                        their values (read the project under RLS)
--       member_joined    {project_id, user_id, role, invited_by} (no `display_name`: read
--                        the profile under RLS)
--     member_left, member_role_changed and project_deleted keep their payloads.
--
-- Why a topic of its own: on `project:<id>` collaborators and owners may broadcast, and
-- Realtime forwards a client broadcast as sent, `meta` included, so nothing on that topic
-- can prove the database sent it. On `project:<id>:events` members may read; a restrictive
-- policy refuses every insert and update that RLS evaluates, whatever permissive policy
-- exists now or is added later. The triggers still write there: they are security definer,
-- owned by the migration's role (`postgres`, which has BYPASSRLS on Supabase), and
-- `realtime.send` is security invoker (supabase/realtime, migration
-- 20260605120000_rename_broadcast_send_warning), so their inserts run as that owner and RLS
-- does not apply to them. service_role bypasses RLS too and stays able to send from the
-- server side; anon and authenticated (every client token) cannot.
-- =============================================================================

-- Policies and grants lock catalog rows and, on hosted projects, realtime.messages until
-- commit; give up rather than queue behind long transactions.
set local lock_timeout = '5s';

-- Section: topic helpers

/**
 * The topic of a project's server events: `project:<id>:events`.
 */
create or replace function private.project_events_topic(project_id uuid)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'project:' || project_id::text || ':events';
$$;
comment on function private.project_events_topic(uuid) is
  'Topic of a project''s server events: project:<id>:events (members read, no client writes).';
revoke all on function private.project_events_topic(uuid) from public, anon, authenticated, service_role;

/**
 * The current user's role in the project named by the server-events topic being
 * authorized (`project:<uuid>:events`), or null: other topics and non-members get null,
 * never an error.
 */
create or replace function private.my_role_in_events_topic()
returns public.project_role
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  topic text := realtime.topic();
begin
  if topic is null or topic !~* '^project:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:events$' then
    return null;
  end if;
  return private.my_role_in(substr(topic, 9, 36)::uuid);
end;
$$;
comment on function private.my_role_in_events_topic() is
  'Role of the current user in the project of the server-events channel topic.';
revoke all on function private.my_role_in_events_topic() from public, anon, authenticated, service_role;
-- Called by the select policy below, as the querying user (service_role bypasses RLS).
grant execute on function private.my_role_in_events_topic() to authenticated;

-- Section: policies on realtime.messages

-- Broadcast only: the topic carries no presence, so a join with presence enabled gets no
-- presence read and cannot track (the restrictive policies refuse the write anyway).
create policy "project members receive server events"
  on realtime.messages for select to authenticated
  using (
    extension = 'broadcast'
    and topic = (select realtime.topic())
    and (select private.my_role_in_events_topic()) is not null
  );

-- Restrictive and for every role: whatever permissive policy a role has, a row on a
-- server-events topic (in any letter case) never passes. Roles that bypass RLS (the
-- triggers' owner, service_role) are the only writers.
create policy "no client writes server events"
  on realtime.messages as restrictive for insert to public
  with check (lower(topic) not like 'project:%:events');

create policy "no client rewrites server events"
  on realtime.messages as restrictive for update to public
  using (lower(topic) not like 'project:%:events')
  with check (lower(topic) not like 'project:%:events');

-- Section: membership events

/**
 * After memberships change (one statement): announces member_joined, member_left and
 * member_role_changed on each project's server-events topic, and NOTIFYs tandem_cache
 * with every member of the touched projects (their member_count changed) plus the
 * departed. Payloads hold ids and roles only.
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
                           'invited_by', change.invited_by),
        'member_joined', private.project_events_topic(change.project_id), true);
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
        'member_role_changed', private.project_events_topic(change.project_id), true);
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
        'member_left', private.project_events_topic(change.project_id), true);
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
  'Trigger: member_* events (server-events topic) and listing invalidation after membership changes.';
revoke all on function private.announce_membership_changes() from public, anon, authenticated, service_role;

-- Section: project events

/**
 * After a project is updated or deleted: announces project_updated (with the names of the
 * changed fields, never their values) / project_deleted on its server-events topic, and
 * NOTIFYs tandem_cache for its members.
 */
create or replace function private.announce_project_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  fields text[];
begin
  if tg_op = 'UPDATE' then
    fields := array_remove(array[
      case when new.name is distinct from old.name then 'name' end,
      case when new.description is distinct from old.description then 'description' end
    ], null);
    if cardinality(fields) = 0 then
      return null;
    end if;
    perform realtime.send(
      jsonb_build_object('id', new.id, 'project_id', new.id, 'fields', to_jsonb(fields)),
      'project_updated', private.project_events_topic(new.id), true);
    perform private.notify_listing_changed(
      (select array_agg(m.user_id) from public.project_members m where m.project_id = new.id));
  else
    -- Members were removed by the cascade, which already invalidated their listings.
    perform realtime.send(
      jsonb_build_object('id', old.id, 'project_id', old.id),
      'project_deleted', private.project_events_topic(old.id), true);
  end if;
  return null;
end;
$$;
comment on function private.announce_project_change() is
  'Trigger: project_updated (changed field names) / project_deleted events on the server-events topic.';
revoke all on function private.announce_project_change() from public, anon, authenticated, service_role;

-- Section: job events

/**
 * After a statement writes job rows: announces job_updated (ids, status and progress, never
 * the error or the payload) on each row's server-events topic in one realtime.messages
 * insert for the whole statement, with realtime.send's row shape and error handling; and
 * NOTIFYs tandem_jobs so the worker enqueues new and retried jobs and aborts cancelled
 * ones, whichever path wrote the rows. Inserts made with
 * `tandem.job_enqueued_by_caller = on` (the jobs function, which enqueues right after its
 * commit) are not NOTIFYed.
 */
create or replace function private.announce_job_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  change record;
  enqueued_by_caller boolean := coalesce(current_setting('tandem.job_enqueued_by_caller', true), '') = 'on';
begin
  -- An update the transition guard refused (or one that matched nothing) announces nothing.
  if not exists (select 1 from new_rows) then
    return null;
  end if;
  -- As realtime.send: a failed announcement (e.g. a missing daily partition) is a
  -- warning, never a failed job write (upstream's warning name since Realtime 2.129).
  begin
    insert into realtime.messages (payload, event, topic, private, extension)
    select jsonb_build_object('id', n.id, 'project_id', n.project_id, 'type', n.type, 'status', n.status,
                              'progress', n.progress, 'attempts', n.attempts, 'updated_at', n.updated_at),
           'job_updated', private.project_events_topic(n.project_id), true, 'broadcast'
    from new_rows n;
  exception
    when others then
      raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;

  if tg_op = 'INSERT' then
    if not enqueued_by_caller then
      for change in select n.id from new_rows n loop
        perform pg_notify('tandem_jobs', json_build_object('op', 'insert', 'id', change.id)::text);
      end loop;
    end if;
  else
    for change in
      select n.id,
             case
               when n.status = 'queued' and o.status <> 'queued' then 'retry'
               when n.cancel_requested_at is not null and o.cancel_requested_at is null then 'cancel'
             end as op
      from new_rows n join old_rows o on o.id = n.id
    loop
      if change.op is not null then
        perform pg_notify('tandem_jobs', json_build_object('op', change.op, 'id', change.id)::text);
      end if;
    end loop;
  end if;
  return null;
end;
$$;
comment on function private.announce_job_changes() is
  'Trigger (per statement): job_updated events on the server-events topic and tandem_jobs notifications.';
revoke all on function private.announce_job_changes() from public, anon, authenticated, service_role;

-- Section: retired helper

-- The triggers were its only callers; project:<id> is now written by clients alone.
drop function private.project_topic(uuid);
