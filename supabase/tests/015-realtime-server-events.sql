-- The server-events topic `project:<id>:events`
-- (supabase/migrations/20261202000300_realtime_server_events.sql): every member reads its
-- broadcasts; no client role writes or rewrites a row there, in any letter case, by insert
-- or through realtime.send; the triggers (security definer) and service_role (bypasses RLS)
-- still do. Checks run as Realtime runs them (010-realtime-authz.sql): the join is a SELECT
-- of admin-inserted probe rows with realtime.topic and the claims set; a write is an INSERT
-- of (topic, extension) as the user.
begin;
select plan(40);
\ir helpers/fixture.psql

\set probe ':as_admin with ins as (insert into realtime.messages (topic, extension) select current_setting(''probe.topic''), e from unnest(array[''broadcast'', ''presence'']) e returning id) select from set_config(''probe.ids'', (select string_agg(id::text, '','') from ins), true);'
\set join 'select from set_config(''realtime.topic'', current_setting(''probe.topic''), true);'
\set readable '(select coalesce(array_agg(extension order by extension), ''{}'') from realtime.messages where id = any (string_to_array(current_setting(''probe.ids''), '','')::uuid[]))'
\set write_broadcast '''insert into realtime.messages (topic, extension) values (current_setting(''''probe.topic''''), ''''broadcast'''')'''
\set write_presence '''insert into realtime.messages (topic, extension) values (current_setting(''''probe.topic''''), ''''presence'''')'''
\set write_event '''insert into realtime.messages (topic, extension, event, payload, private) values (current_setting(''''probe.topic''''), ''''broadcast'''', ''''project_deleted'''', ''''{"project_id":"forged"}'''', true)'''
\set broadcast_only 'array[''broadcast'']'
\set none '''{}''::text[]'

-- Section: the policies are what the migration says

select is((select polpermissive from pg_policy where polrelid = 'realtime.messages'::regclass and polname = 'no client writes server events'),
          false, 'the insert refusal is a restrictive policy (no permissive policy can open the topic)');
select is((select polpermissive from pg_policy where polrelid = 'realtime.messages'::regclass and polname = 'no client rewrites server events'),
          false, 'the update refusal is a restrictive policy');
select is((select array_agg(r::regrole::text) from pg_policy p, unnest(p.polroles) r
           where polrelid = 'realtime.messages'::regclass and polname = 'no client writes server events'),
          array['-'], 'the insert refusal applies to every role (PUBLIC)');

-- Section: every role, read and write, on P's events topic

select from set_config('probe.topic', 'project:' || :p_id || ':events', true);

:probe
:as_owner
:join
select is(:readable, :broadcast_only, 'owner joins the events topic: reads broadcast (no presence there)');
select throws_ok(:write_broadcast, '42501', null, 'owner may not broadcast on the events topic');
select throws_ok(:write_presence, '42501', null, 'owner may not track presence on the events topic');
select throws_ok(:write_event, '42501', null, 'owner may not forge a server event');
reset role;

:probe
:as_collab
:join
select is(:readable, :broadcast_only, 'collaborator joins the events topic: reads broadcast');
select throws_ok(:write_broadcast, '42501', null, 'collaborator may not broadcast on the events topic');
select throws_ok(:write_presence, '42501', null, 'collaborator may not track presence on the events topic');
select throws_ok(:write_event, '42501', null, 'collaborator may not forge a server event');
reset role;

:probe
:as_viewer
:join
select is(:readable, :broadcast_only, 'viewer joins the events topic: reads broadcast');
select throws_ok(:write_broadcast, '42501', null, 'viewer may not broadcast on the events topic');
select throws_ok(:write_presence, '42501', null, 'viewer may not track presence on the events topic');
reset role;

:probe
:as_outsider
:join
select is(:readable, :none, 'a signed-in non-member is denied the events topic, without error');
select throws_ok(:write_broadcast, '42501', null, 'a non-member may not broadcast on the events topic');
select throws_ok(:write_presence, '42501', null, 'a non-member may not track presence on the events topic');
reset role;

:probe
:as_anon
:join
select is(:readable, :none, 'anon is denied the events topic, without error');
select throws_ok(:write_broadcast, '42501', null, 'anon may not broadcast on the events topic');
select throws_ok(:write_presence, '42501', null, 'anon may not track presence on the events topic');
reset role;

:probe
:as_service
:join
select is(:readable, array['broadcast', 'presence'], 'service_role reads everything (it bypasses RLS)');
select lives_ok(:write_event, 'service_role may send server events (server side only; it bypasses RLS)');
reset role;

-- Section: writes through realtime.send and by update

-- realtime.send swallows the refusal as a warning, so count what it wrote.
:as_collab
:join
select lives_ok(format('select realtime.send(%L::jsonb, %L, %L, true)', '{"id":"x"}', 'job_updated', current_setting('probe.topic')),
                'realtime.send as a collaborator does not fail (it warns)');
reset role;
select is((select count(*)::int from realtime.messages where event = 'job_updated' and payload ->> 'id' = 'x'), 0,
          'realtime.send as a collaborator writes nothing on the events topic');

-- Whether UPDATE is granted differs (Supabase grants it on realtime.messages, the bootstrap
-- does not): pg_temp.attempt runs a statement as the current role and says what happened.
create function pg_temp.attempt(statement text) returns text language plpgsql as $fn$
begin
  execute statement;
  return 'ran';
exception when insufficient_privilege then
  return 'refused';
end;
$fn$;

:as_admin
with ins as (insert into realtime.messages (topic, extension, event, payload) values (current_setting('probe.topic'), 'broadcast', 'member_left', '{}') returning id)
select id as event_id from ins \gset
with ins as (insert into realtime.messages (topic, extension, event, payload) values ('project:' || :p_id, 'broadcast', 'cursor', '{}') returning id)
select id as cursor_id from ins \gset
:as_owner
:join
select is((select count(*)::int from realtime.messages where id = :'event_id'), 1, 'the owner reads a server event of the topic');
select pg_temp.attempt(format('update realtime.messages set event = %L where id = %L', 'project_deleted', :'event_id'));
reset role;
select is((select event from realtime.messages where id = :'event_id'), 'member_left', 'an owner''s update of a server event changes nothing');
:as_owner
select from set_config('realtime.topic', 'project:' || :p_id, true);
select pg_temp.attempt(format('update realtime.messages set topic = %L where id = %L', 'project:' || :p_id || ':events', :'cursor_id'));
reset role;
select is((select topic from realtime.messages where id = :'cursor_id'), 'project:' || :p_id,
          'an owner''s update cannot move a client broadcast onto the events topic');

-- Section: other spellings and other projects

select from set_config('probe.topic', upper('project:' || :p_id || ':events'), true);
:probe
:as_owner
:join
select throws_ok(:write_broadcast, '42501', null, 'no broadcast on the events topic spelt in upper case');
reset role;

select from set_config('probe.topic', 'project:' || upper(:p_id) || ':events', true);
:probe
:as_collab
:join
select is(:readable, :broadcast_only, 'the uuid in the events topic is case-insensitive, as uuids are');
select throws_ok(:write_broadcast, '42501', null, 'and its writes are refused too');
reset role;

select from set_config('probe.topic', 'project:' || :q_id || ':events', true);
:probe
:as_owner
:join
select is(:readable, :none, 'the owner of P is denied Q''s events topic');
reset role;
:probe
:as_outsider
:join
select is(:readable, :broadcast_only, 'Q''s owner reads Q''s events topic');
select throws_ok(:write_broadcast, '42501', null, 'and may not write it either');
reset role;

select from set_config('probe.topic', 'project:' || :p_id || ':events:x', true);
:probe
:as_owner
:join
select is(:readable, :none, 'a topic with a suffix after :events is not an events topic');
reset role;

select from set_config('probe.topic', 'project:nope:events', true);
:probe
:as_owner
:join
select is(:readable, :none, '"project:nope:events" is denied without error');
select throws_ok(:write_broadcast, '42501', null, '"project:nope:events": no broadcast');
reset role;

-- Section: the triggers write there and nowhere else

:as_viewer
delete from public.project_members where project_id = :p_id and user_id = :viewer_id;
reset role;
select is((select topic from realtime.messages where event = 'member_left' and payload ->> 'user_id' = :viewer_id),
          'project:' || :p_id || ':events', 'a viewer''s own leaving is still announced on the events topic (security definer)');
select is((select count(*)::int from realtime.messages where topic = 'project:' || :p_id
             and event in ('member_joined', 'member_left', 'member_role_changed', 'project_updated', 'project_deleted', 'job_updated')), 0,
          'the triggers send nothing on the presence topic project:<id>');

-- Section: a removed member

select from set_config('probe.topic', 'project:' || :p_id || ':events', true);
:probe
:as_viewer
:join
select is(:readable, :none, 'a removed member is denied the events topic on the next check');
reset role;

-- The presence topic keeps its contract (010): collaborators broadcast there.
select from set_config('probe.topic', 'project:' || :p_id, true);
:probe
:as_collab
:join
select lives_ok(:write_broadcast, 'collaborators still broadcast on project:<id>');
reset role;

select * from finish();
rollback;
