-- Realtime channel authorization, reproduced as Supabase Realtime runs it (see
-- docs/realtime.md, "How private channels are authorized"). Join (read) check: as the admin, insert one probe row per extension
-- (broadcast, presence) on the topic, then switch to the user's role with realtime.topic
-- and request.jwt.claims set and SELECT the probe ids: each visible id grants read for
-- that extension. Write check: INSERT (topic, extension) as the user inside a savepoint
-- (throws_ok / lives_ok run the statement in a subtransaction).
-- Contract: members read broadcast and presence and track presence; collaborators and
-- owners broadcast; viewers may not broadcast; non-members, anon and malformed topics are
-- denied without error.
begin;
select plan(44);
\ir helpers/fixture.psql

-- Macros. The topic under test is in the setting probe.topic; the probe ids in probe.ids.
\set topic_p 'select from set_config(''probe.topic'', ''project:b0000000-0000-4000-8000-000000000001'', true);'
\set probe ':as_admin with ins as (insert into realtime.messages (topic, extension) select current_setting(''probe.topic''), e from unnest(array[''broadcast'', ''presence'']) e returning id) select from set_config(''probe.ids'', (select string_agg(id::text, '','') from ins), true);'
\set join 'select from set_config(''realtime.topic'', current_setting(''probe.topic''), true);'
\set readable '(select coalesce(array_agg(extension order by extension), ''{}'') from realtime.messages where id = any (string_to_array(current_setting(''probe.ids''), '','')::uuid[]))'
\set write_broadcast '''insert into realtime.messages (topic, extension) values (current_setting(''''probe.topic''''), ''''broadcast'''')'''
\set write_presence '''insert into realtime.messages (topic, extension) values (current_setting(''''probe.topic''''), ''''presence'''')'''
\set both 'array[''broadcast'', ''presence'']'
\set none '''{}''::text[]'

-- Section: the project's own topic, per role

select from set_config('probe.topic', 'project:' || :p_id, true);
:probe
:as_owner
:join
select is(:readable, :both, 'owner joins: reads broadcast and presence');
select lives_ok(:write_broadcast, 'owner broadcasts');
select lives_ok(:write_presence, 'owner tracks presence');
reset role;

:probe
:as_collab
:join
select is(:readable, :both, 'collaborator joins: reads broadcast and presence');
select lives_ok(:write_broadcast, 'collaborator broadcasts');
select lives_ok(:write_presence, 'collaborator tracks presence');
reset role;

:probe
:as_viewer
:join
select is(:readable, :both, 'viewer joins: reads broadcast and presence');
select throws_ok(:write_broadcast, '42501', null, 'viewer may not broadcast');
select lives_ok(:write_presence, 'viewer tracks presence');
reset role;

:probe
:as_outsider
:join
select is(:readable, :none, 'a signed-in non-member is denied the join, without error');
select throws_ok(:write_broadcast, '42501', null, 'a non-member may not broadcast');
select throws_ok(:write_presence, '42501', null, 'a non-member may not track presence');
reset role;

:probe
:as_anon
:join
select is(:readable, :none, 'anon is denied the join, without error');
select throws_ok(:write_broadcast, '42501', null, 'anon may not broadcast');
select throws_ok(:write_presence, '42501', null, 'anon may not track presence');
reset role;

:probe
:as_service
:join
select is(:readable, :both, 'service_role reads everything (it bypasses RLS)');
select lives_ok(:write_broadcast, 'service_role broadcasts');
reset role;

-- A user with a valid token but no topic set (not a channel authorization) reads nothing.
:probe
:as_owner
select from set_config('realtime.topic', '', true);
select is(:readable, :none, 'without realtime.topic even the owner reads nothing');
select throws_ok(:write_presence, '42501', null, 'without realtime.topic even the owner writes nothing');
reset role;

-- Section: another project's topic

select from set_config('probe.topic', 'project:' || :q_id, true);
:probe
:as_owner
:join
select is(:readable, :none, 'the owner of P is denied the join on Q''s channel');
select throws_ok(:write_broadcast, '42501', null, 'the owner of P cannot broadcast on Q''s channel');
select throws_ok(:write_presence, '42501', null, 'the owner of P cannot track presence on Q''s channel');
reset role;
:probe
:as_outsider
:join
select is(:readable, :both, 'Q''s owner joins Q''s channel');
reset role;

-- Rows of another topic stay invisible even to a member authorized on their own topic.
:as_admin
select id as q_message from realtime.messages
where topic = 'project:' || :q_id and extension = 'broadcast' order by inserted_at desc limit 1 \gset
select from set_config('probe.topic', 'project:' || :p_id, true);
:as_viewer
:join
select is((select count(*)::int from realtime.messages where id = :'q_message'), 0,
          'a member authorized on P cannot read a message of Q''s topic');
select throws_ok(format('insert into realtime.messages (topic, extension) values (%L, %L)', 'project:' || :q_id, 'presence'), '42501', null,
                 'a member authorized on P cannot write to Q''s topic');
reset role;

-- Section: malformed and unknown topics: denied without error

select from set_config('probe.topic', 'project:nope', true);
:probe
:as_owner
:join
select is(:readable, :none, '"project:nope" is denied without error');
select throws_ok(:write_broadcast, '42501', null, '"project:nope": no broadcast');
select throws_ok(:write_presence, '42501', null, '"project:nope": no presence');
reset role;

select from set_config('probe.topic', '', true);
:probe
:as_owner
:join
select is(:readable, :none, 'the empty topic is denied without error');
select throws_ok(:write_broadcast, '42501', null, 'the empty topic: no broadcast');
select throws_ok(:write_presence, '42501', null, 'the empty topic: no presence');
reset role;

select from set_config('probe.topic', 'foo', true);
:probe
:as_owner
:join
select is(:readable, :none, '"foo" is denied without error');
select throws_ok(:write_broadcast, '42501', null, '"foo": no broadcast');
select throws_ok(:write_presence, '42501', null, '"foo": no presence');
reset role;

select from set_config('probe.topic', 'realtime:project:' || :p_id, true);
:probe
:as_owner
:join
select is(:readable, :none, 'a topic with the realtime: prefix is not a project topic');
select throws_ok(:write_presence, '42501', null, 'the realtime: prefixed topic: no presence');
reset role;

select from set_config('probe.topic', 'project:' || gen_random_uuid(), true);
:probe
:as_owner
:join
select is(:readable, :none, 'a well-formed topic of a project that does not exist is denied');
select throws_ok(:write_presence, '42501', null, 'a nonexistent project: no presence');
reset role;

select from set_config('probe.topic', 'project:' || :p_id || ' ', true);
:probe
:as_owner
:join
select is(:readable, :none, 'a topic with trailing garbage is denied');
reset role;

select from set_config('probe.topic', 'project:' || upper(:p_id), true);
:probe
:as_owner
:join
select is(:readable, :both, 'the uuid in the topic is case-insensitive, as uuids are');
reset role;

-- Section: extensions other than broadcast and presence are never granted

select from set_config('probe.topic', 'project:' || :p_id, true);
:as_admin
with ins as (insert into realtime.messages (topic, extension) values (current_setting('probe.topic'), 'postgres_changes') returning id)
select id as changes_probe from ins \gset
:as_owner
:join
select is((select count(*)::int from realtime.messages where id = :'changes_probe'), 0, 'no read grant for other extensions');
select throws_ok('insert into realtime.messages (topic, extension) values (current_setting(''probe.topic''), ''postgres_changes'')',
                 '42501', null, 'no write grant for other extensions');
reset role;

-- Section: authorization follows membership changes (Realtime re-checks on a new token)

:as_admin
update public.project_members set role = 'collaborator' where project_id = :p_id and user_id = :viewer_id;
:as_viewer
:join
select lives_ok(:write_broadcast, 'a viewer promoted to collaborator may broadcast');
reset role;
:as_admin
delete from public.project_members where project_id = :p_id and user_id = :viewer_id;
:probe
:as_viewer
:join
select is(:readable, :none, 'a removed member is denied the join');
reset role;

select * from finish();
rollback;
