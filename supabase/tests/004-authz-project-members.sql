-- Authorization matrix, table public.project_members:
-- {anon, signed-in non-member, viewer, collaborator, owner, service_role} x {select, insert, update, delete}.
-- Contract: members read the member list; nobody inserts directly (memberships come from
-- project creation and accept_invitation); owners change roles and remove members; every
-- member may leave, except the last owner.
begin;
select plan(34);
\ir helpers/fixture.psql

\set extra_id '''a0000000-0000-4000-8000-0000000000e1'''
\set newbie_id '''a0000000-0000-4000-8000-0000000000e2'''
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (:extra_id, 'authenticated', 'authenticated', 'extra@pgtap.test', now(), now()),
       (:newbie_id, 'authenticated', 'authenticated', 'newbie@pgtap.test', now(), now());
insert into public.project_members (project_id, user_id, role) values (:p_id, :extra_id, 'viewer');

\set fixture_projects 'array[' :p_id ',' :q_id ']::uuid[]'
\set p_members 'array[' :owner_id ',' :collab_id ',' :viewer_id ',' :extra_id ']::uuid[]'

-- Section: select

:as_anon
select throws_ok('select user_id from public.project_members', '42501', null, 'anon cannot read memberships');
reset role;
:as_outsider
select is((select array_agg(project_id || '/' || user_id) from public.project_members where project_id = any (:fixture_projects)),
          array[:q_id || '/' || :outsider_id], 'a non-member sees none of the project''s members (only their own project''s)');
reset role;
:as_viewer
select is((select array_agg(user_id order by user_id) from public.project_members where project_id = any (:fixture_projects)),
          :p_members, 'a viewer reads the project''s members, not other projects''');
reset role;
:as_collab
select is((select array_agg(user_id order by user_id) from public.project_members where project_id = any (:fixture_projects)),
          :p_members, 'a collaborator reads the project''s members, not other projects''');
reset role;
:as_owner
select is((select array_agg(user_id order by user_id) from public.project_members where project_id = any (:fixture_projects)),
          :p_members, 'an owner reads the project''s members, not other projects''');
reset role;
:as_service
select is((select count(*)::int from public.project_members where project_id = any (:fixture_projects)),
          5, 'service_role reads every membership');
reset role;

-- Section: insert (no client inserts: invitations are the way in)

:as_anon
select throws_ok(format('insert into public.project_members (project_id, user_id) values (%L, %L)', :p_id, :newbie_id),
                 '42501', null, 'anon cannot add members');
reset role;
:as_outsider
select throws_ok(format('insert into public.project_members (project_id, user_id, role) values (%L, %L, %L)', :p_id, :outsider_id, 'owner'),
                 '42501', null, 'a non-member cannot add themselves to a project');
reset role;
:as_viewer
select throws_ok(format('insert into public.project_members (project_id, user_id) values (%L, %L)', :p_id, :newbie_id),
                 '42501', null, 'a viewer cannot add members');
reset role;
:as_collab
select throws_ok(format('insert into public.project_members (project_id, user_id) values (%L, %L)', :p_id, :newbie_id),
                 '42501', null, 'a collaborator cannot add members');
reset role;
:as_owner
select throws_ok(format('insert into public.project_members (project_id, user_id) values (%L, %L)', :p_id, :newbie_id),
                 '42501', null, 'an owner cannot add members directly (only by invitation)');
reset role;
:as_service
with ins as (insert into public.project_members (project_id, user_id, role) values (:p_id, :newbie_id, 'viewer') returning 1)
select is(count(*)::int, 1, 'service_role adds a member') from ins;
reset role;

-- Section: update (owners change roles)

:as_anon
select throws_ok(format('update public.project_members set role = %L where user_id = %L', 'owner', :viewer_id),
                 '42501', null, 'anon cannot change roles');
reset role;
:as_outsider
with u as (update public.project_members set role = 'owner' where project_id = :p_id returning 1)
select is(count(*)::int, 0, 'a non-member cannot change roles') from u;
reset role;
:as_viewer
with u as (update public.project_members set role = 'owner' where project_id = :p_id and user_id = :viewer_id returning 1)
select is(count(*)::int, 0, 'a viewer cannot promote themselves') from u;
reset role;
:as_collab
with u as (update public.project_members set role = 'collaborator' where project_id = :p_id and user_id = :viewer_id returning 1)
select is(count(*)::int, 0, 'a collaborator cannot change roles') from u;
with u as (update public.project_members set role = 'owner' where project_id = :p_id and user_id = :collab_id returning 1)
select is(count(*)::int, 0, 'a collaborator cannot promote themselves') from u;
reset role;
:as_owner
with u as (update public.project_members set role = 'collaborator' where project_id = :p_id and user_id = :viewer_id returning role)
select is((select role from u), 'collaborator'::public.project_role, 'an owner changes a member''s role');
with u as (update public.project_members set role = 'viewer' where project_id = :q_id returning 1)
select is(count(*)::int, 0, 'an owner cannot change roles in a project they are not in') from u;
select throws_ok(format('update public.project_members set invited_by = null where project_id = %L', :p_id), '42501', null,
                 'role is the only editable column');
reset role;
:as_service
with u as (update public.project_members set role = 'viewer' where project_id = :p_id and user_id = :viewer_id returning 1)
select is(count(*)::int, 1, 'service_role changes any role') from u;
reset role;
select is((select array_agg(user_id || ':' || role order by user_id) from public.project_members where project_id = :p_id),
          array[:owner_id || ':owner', :collab_id || ':collaborator', :viewer_id || ':viewer', :extra_id || ':viewer', :newbie_id || ':viewer'],
          'exactly the allowed role changes took effect');

-- Section: delete (owners remove members; members leave; the last owner cannot leave)

:as_anon
select throws_ok(format('delete from public.project_members where user_id = %L', :viewer_id), '42501', null, 'anon cannot remove members');
reset role;
:as_outsider
with d as (delete from public.project_members where project_id = :p_id returning 1)
select is(count(*)::int, 0, 'a non-member cannot remove members') from d;
reset role;
:as_viewer
with d as (delete from public.project_members where project_id = :p_id and user_id <> :viewer_id returning 1)
select is(count(*)::int, 0, 'a viewer cannot remove other members') from d;
reset role;
:as_collab
with d as (delete from public.project_members where project_id = :p_id and user_id <> :collab_id returning 1)
select is(count(*)::int, 0, 'a collaborator cannot remove other members') from d;
reset role;
:as_viewer
with d as (delete from public.project_members where project_id = :p_id and user_id = :viewer_id returning 1)
select is(count(*)::int, 1, 'a viewer leaves the project') from d;
reset role;
:as_collab
with d as (delete from public.project_members where project_id = :p_id and user_id = :collab_id returning 1)
select is(count(*)::int, 1, 'a collaborator leaves the project') from d;
reset role;
:as_owner
with d as (delete from public.project_members where project_id = :p_id and user_id = :extra_id returning 1)
select is(count(*)::int, 1, 'an owner removes a member') from d;
with d as (delete from public.project_members where project_id = :q_id returning 1)
select is(count(*)::int, 0, 'an owner cannot remove members of a project they are not in') from d;
reset role;
:as_service
with d as (delete from public.project_members where project_id = :p_id and user_id = :newbie_id returning 1)
select is(count(*)::int, 1, 'service_role removes any member') from d;
reset role;
:as_owner
select throws_ok(format('delete from public.project_members where project_id = %L and user_id = %L', :p_id, :owner_id),
                 'P0001', 'a project must keep at least one owner', 'the last owner cannot leave');
reset role;
select is((select array_agg(user_id) from public.project_members where project_id = :p_id), array[:owner_id]::uuid[],
          'only the owner is left');
select is((select array_agg(user_id) from public.project_members where project_id = :q_id), array[:outsider_id]::uuid[],
          'the other project''s membership is untouched');

select * from finish();
rollback;
