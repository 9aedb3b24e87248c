-- Events the triggers broadcast with realtime.send on the project's server-events topic
-- (rows in realtime.messages: extension 'broadcast', private, topic 'project:<id>:events',
-- which no client may write: 015-realtime-server-events.sql): member_joined, member_left
-- (also when a viewer, who may not broadcast, leaves), member_role_changed,
-- project_updated, project_deleted, job_updated. Payloads carry ids, statuses and progress
-- only (a removed member receives them until their token expires).
begin;
select plan(35);
\ir helpers/fixture.psql

\set topic '''project:b0000000-0000-4000-8000-000000000001:events'''
\set keys '(select array_agg(k order by k) from jsonb_object_keys(m.payload) k)'

-- Section: member_joined

\set invitee_id '''a0000000-0000-4000-8000-0000000000a1'''
insert into auth.users (id, email, raw_user_meta_data)
values (:invitee_id, 'invitee@pgtap.test', '{"display_name":"Invited Ivy"}');
set local role authenticated;
select from set_config('request.jwt.claims', '{"sub":"a0000000-0000-4000-8000-0000000000a1","role":"authenticated","email":"invitee@pgtap.test"}', true);
select is(public.accept_invitation('pgtap-token-1'), :p_id::uuid, 'the invitee joins through accept_invitation');
reset role;

select is((select count(*)::int from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :invitee_id),
          1, 'member_joined is broadcast once');
select is((select m.topic from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :invitee_id),
          :topic, 'on the project''s topic');
select is((select (m.extension, m.private)::text from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :invitee_id),
          '(broadcast,t)', 'as a private broadcast');
select is((select :keys from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :invitee_id),
          array['id', 'invited_by', 'project_id', 'role', 'user_id'], 'member_joined carries ids and the role, not the display name');
select is((select m.payload - 'id' from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :invitee_id),
          jsonb_build_object('project_id', :p_id, 'user_id', :invitee_id, 'role', 'viewer', 'invited_by', :owner_id),
          'member_joined: project, user, role and inviter');
select is((select count(*)::int from realtime.messages m where m.event = 'member_joined' and m.payload ->> 'user_id' = :owner_id
             and m.topic = :topic),
          1, 'the creator''s owner membership was announced too');

-- Section: member_role_changed

:as_owner
update public.project_members set role = 'viewer' where project_id = :p_id and user_id = :collab_id;
reset role;
select is((select m.payload - 'id' from realtime.messages m where m.event = 'member_role_changed' and m.payload ->> 'user_id' = :collab_id),
          jsonb_build_object('project_id', :p_id, 'user_id', :collab_id, 'role', 'viewer', 'previous_role', 'collaborator'),
          'member_role_changed: project, user, new and previous role');
select is((select m.topic from realtime.messages m where m.event = 'member_role_changed' and m.payload ->> 'user_id' = :collab_id),
          :topic, 'member_role_changed goes to the project''s topic');
:as_owner
update public.project_members set role = 'viewer' where project_id = :p_id and user_id = :collab_id;
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'member_role_changed' and m.payload ->> 'user_id' = :collab_id),
          1, 'an update that does not change the role announces nothing');

-- Section: member_left, by a viewer (who may not broadcast themselves)

:as_viewer
with d as (delete from public.project_members where project_id = :p_id and user_id = :viewer_id returning 1)
select is(count(*)::int, 1, 'a viewer leaves') from d;
reset role;
select is((select m.payload - 'id' from realtime.messages m where m.event = 'member_left' and m.payload ->> 'user_id' = :viewer_id),
          jsonb_build_object('project_id', :p_id, 'user_id', :viewer_id, 'role', 'viewer'),
          'member_left is broadcast even though the viewer may not broadcast (security definer)');
select is((select (m.topic, m.extension, m.private)::text from realtime.messages m where m.event = 'member_left' and m.payload ->> 'user_id' = :viewer_id),
          '(' || :topic || ',broadcast,t)', 'member_left goes to the project''s topic as a private broadcast');
:as_owner
delete from public.project_members where project_id = :p_id and user_id = :collab_id;
reset role;
select is((select m.payload ->> 'role' from realtime.messages m where m.event = 'member_left' and m.payload ->> 'user_id' = :collab_id),
          'viewer', 'member_left when an owner removes a member, with the role they had');

-- Section: project_updated

:as_owner
update public.projects set name = 'Matrix reloaded', description = 'new text' where id = :p_id;
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'project_updated' and m.topic = :topic), 1, 'project_updated is broadcast');
select is((select :keys from realtime.messages m where m.event = 'project_updated' and m.topic = :topic),
          array['fields', 'id', 'project_id'], 'project_updated carries the id and the changed fields'' names');
select is((select m.payload from realtime.messages m where m.event = 'project_updated' and m.topic = :topic),
          jsonb_build_object('id', :p_id, 'project_id', :p_id, 'fields', jsonb_build_array('name', 'description')),
          'project_updated: names, never values, of the changed fields');
:as_owner
update public.projects set name = 'Matrix reloaded' where id = :p_id;
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'project_updated' and m.topic = :topic), 1,
          'an update that changes neither name nor description announces nothing');
:as_owner
update public.projects set name = 'Matrix revolutions', description = 'new text' where id = :p_id;
reset role;
select is((select m.payload -> 'fields' from realtime.messages m where m.event = 'project_updated' and m.topic = :topic
           and m.payload -> 'fields' = '["name"]'), '["name"]'::jsonb, 'only the fields that changed are named');

-- Section: job_updated

:as_owner
with ins as (insert into public.jobs (project_id, type, payload) values (:p_id, 'demo.echo', '{"secret":"not broadcast"}') returning id)
select id as new_job from ins \gset
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'), 1,
          'job_updated on submission');
select is((select :keys from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'),
          array['attempts', 'id', 'progress', 'project_id', 'status', 'type', 'updated_at'],
          'job_updated carries exactly {id, project_id, type, status, progress, attempts, updated_at} (never the payload or the error)');
select is((select m.payload - 'updated_at' from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'),
          jsonb_build_object('id', :'new_job', 'project_id', :p_id, 'type', 'demo.echo', 'status', 'queued', 'progress', 0,
                             'attempts', 0),
          'job_updated: the queued job');
select is((select m.topic from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'), :topic,
          'job_updated goes to the project''s topic');
update public.jobs set status = 'running', attempts = 1, progress = 5 where id = :'new_job';
update public.jobs set status = 'failed', error = 'it broke' where id = :'new_job';
select is((select array_agg((m.payload ->> 'status') || '/' || (m.payload ->> 'attempts') || '/' || (m.payload ->> 'progress')
                            || '/' || coalesce(m.payload ->> 'error', '-') order by m.payload ->> 'status' desc)
           from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'),
          array['running/1/5/-', 'queued/0/0/-', 'failed/1/5/-'], 'every worker transition is broadcast with its state, a failure without its error');
select is((select (m.payload ->> 'updated_at')::timestamptz from realtime.messages m
           where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job' and m.payload ->> 'status' = 'failed'),
          (select updated_at from public.jobs where id = :'new_job'), 'job_updated carries the row''s updated_at');
:as_owner
select lives_ok(format('select public.retry_job(%L)', :'new_job'), 'retry_job');
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'
             and m.payload ->> 'status' = 'queued'), 2, 'a retry is broadcast as queued again');
:as_collab
select throws_ok(format('select public.cancel_job(%L)', :'new_job'), 'PT404', null, 'a removed member cannot cancel');
reset role;
:as_owner
select lives_ok(format('select public.cancel_job(%L)', :'new_job'), 'cancel_job');
reset role;
select is((select count(*)::int from realtime.messages m where m.event = 'job_updated' and m.payload ->> 'id' = :'new_job'
             and m.payload ->> 'status' = 'cancelled'), 1, 'a cancel is broadcast');

-- Section: deleting a user announces their departure and the hand-over

\set h '''b0000000-0000-4000-8000-0000000000f1'''
\set heir '''a0000000-0000-4000-8000-0000000000f2'''
\set leaver '''a0000000-0000-4000-8000-0000000000f1'''
:as_admin
insert into auth.users (id, email) values (:leaver, 'leaver@pgtap.test'), (:heir, 'heir@pgtap.test');
insert into public.projects (id, name, created_by) values (:h, 'Inherited', :leaver);
insert into public.project_members (project_id, user_id, role, created_at) values (:h, :heir, 'viewer', now() + interval '1 minute');
delete from auth.users where id = :leaver;
select is((select m.payload - 'id' from realtime.messages m where m.event = 'member_left' and m.payload ->> 'user_id' = :leaver),
          jsonb_build_object('project_id', :h, 'user_id', :leaver, 'role', 'owner'), 'a deleted user''s membership ends with member_left');
select is((select m.payload - 'id' from realtime.messages m where m.event = 'member_role_changed' and m.payload ->> 'user_id' = :heir),
          jsonb_build_object('project_id', :h, 'user_id', :heir, 'role', 'owner', 'previous_role', 'viewer'),
          'the hand-over to the heir is announced as member_role_changed');

-- Section: project_deleted

:as_owner
delete from public.projects where id = :p_id;
reset role;
select is((select m.payload - 'id' from realtime.messages m where m.event = 'project_deleted' and m.topic = :topic),
          jsonb_build_object('project_id', :p_id), 'project_deleted is broadcast with the project id');
select is((select m.payload ->> 'id' from realtime.messages m where m.event = 'project_deleted' and m.topic = :topic),
          :p_id, 'project_deleted: id is the project''s');
select is((select count(*)::int from realtime.messages m where m.event = 'member_left' and m.payload ->> 'user_id' in (:owner_id, :invitee_id)),
          0, 'a deleted project announces project_deleted, not one member_left per member');

select * from finish();
rollback;
