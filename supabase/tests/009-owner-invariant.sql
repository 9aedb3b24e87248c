-- The last-owner invariant (removal, demotion and leaving of the last owner are refused),
-- and the two operations it never blocks: deleting a project and deleting a user. When a
-- user is deleted, the longest-standing remaining member of each project they were the
-- last owner of becomes owner, a project left without members is deleted, and
-- created_by / invited_by references become null.
begin;
select plan(37);
\ir helpers/fixture.psql

\set msg 'a project must keep at least one owner'

-- Section: the last owner cannot go

:as_owner
select throws_ok(format('delete from public.project_members where project_id = %L and user_id = %L', :p_id, :owner_id),
                 'P0001', :'msg', 'the last owner cannot leave');
select throws_ok(format('update public.project_members set role = %L where project_id = %L and user_id = %L', 'collaborator', :p_id, :owner_id),
                 'P0001', :'msg', 'the last owner cannot demote themselves');
reset role;
:as_service
select throws_ok(format('delete from public.project_members where project_id = %L and user_id = %L', :p_id, :owner_id),
                 'P0001', :'msg', 'not even service_role removes the last owner');
select throws_ok(format('update public.project_members set role = %L where project_id = %L', 'viewer', :p_id),
                 'P0001', :'msg', 'not even service_role demotes everyone');
reset role;
select throws_ok(format('delete from public.project_members where project_id = %L', :p_id),
                 'P0001', :'msg', 'removing every member at once is refused too');

-- With two owners, either may go, but not both.
:as_owner
with u as (update public.project_members set role = 'owner' where project_id = :p_id and user_id = :collab_id returning 1)
select is(count(*)::int, 1, 'an owner makes a second owner') from u;
select throws_ok(format('update public.project_members set role = %L where project_id = %L and role = %L', 'viewer', :p_id, 'owner'),
                 'P0001', :'msg', 'demoting both owners in one statement is refused');
reset role;
:as_service
select throws_ok(format('delete from public.project_members where project_id = %L and role = %L', :p_id, 'owner'),
                 'P0001', :'msg', 'removing both owners in one statement is refused');
reset role;
:as_owner
with u as (update public.project_members set role = 'collaborator' where project_id = :p_id and user_id = :owner_id returning 1)
select is(count(*)::int, 1, 'with another owner left, an owner may step down') from u;
reset role;
:as_collab
select throws_ok(format('delete from public.project_members where project_id = %L and user_id = %L', :p_id, :collab_id),
                 'P0001', :'msg', 'the new last owner cannot leave');
with u as (update public.project_members set role = 'owner' where project_id = :p_id and user_id = :owner_id returning 1)
select is(count(*)::int, 1, 'the new owner promotes the old one back') from u;
with d as (delete from public.project_members where project_id = :p_id and user_id = :owner_id returning 1)
select is(count(*)::int, 1, 'an owner removes another owner while one remains') from d;
select throws_ok(format('update public.project_members set role = %L where project_id = %L and user_id = %L', 'viewer', :p_id, :collab_id),
                 'P0001', :'msg', 'and then cannot demote themselves');
reset role;
select is((select array_agg(role::text order by user_id) from public.project_members where project_id = :p_id),
          array['owner', 'viewer'], 'the project kept exactly one owner throughout');

-- Section: deleting a project is never blocked

\set solo '''b0000000-0000-4000-8000-0000000000c1'''
:as_admin
insert into public.projects (id, name, created_by) values (:solo, 'Solo', :viewer_id);
:as_viewer
with d as (delete from public.projects where id = :solo returning 1)
select is(count(*)::int, 1, 'the sole owner deletes their project (the invariant does not block it)') from d;
reset role;
:as_admin
select lives_ok(format('delete from public.projects where id = %L', :q_id), 'the admin deletes a project with its last owner');
select is((select count(*)::int from public.project_members where project_id in (:solo, :q_id)), 0, 'the memberships went with the projects');

-- Section: deleting a user is never blocked

-- Project H: u1 (owner, oldest), u2 (viewer, joined before u3), u3 (collaborator). u1 also
-- created jobs (one finished) and an invitation, and invited u2 and u3.
\set u1 '''a0000000-0000-4000-8000-0000000000c1'''
\set u2 '''a0000000-0000-4000-8000-0000000000c2'''
\set u3 '''a0000000-0000-4000-8000-0000000000c3'''
\set u4 '''a0000000-0000-4000-8000-0000000000c4'''
\set u5 '''a0000000-0000-4000-8000-0000000000c5'''
\set u6 '''a0000000-0000-4000-8000-0000000000c6'''
\set h '''b0000000-0000-4000-8000-0000000000c2'''
\set lonely '''b0000000-0000-4000-8000-0000000000c3'''
\set shared '''b0000000-0000-4000-8000-0000000000c4'''
\set pair '''b0000000-0000-4000-8000-0000000000c5'''
\set emptied '''b0000000-0000-4000-8000-0000000000c6'''
\set h_done_job '''c0000000-0000-4000-8000-0000000000c1'''
\set h_queued_job '''c0000000-0000-4000-8000-0000000000c2'''
insert into auth.users (id, email)
select id::uuid, 'c' || right(id, 1) || '@pgtap.test' from unnest(array[:u1, :u2, :u3, :u4, :u5, :u6]) id;
insert into public.projects (id, name, created_by) values (:h, 'Handover', :u1), (:lonely, 'Lonely', :u1);
insert into public.project_members (project_id, user_id, role, invited_by, created_at)
values (:h, :u3, 'collaborator', :u1, now() + interval '2 minutes'),
       (:h, :u2, 'viewer', :u1, now() + interval '1 minute');
insert into public.jobs (id, project_id, created_by, type, status, started_at, finished_at)
values (:h_done_job, :h, :u1, 'demo.echo', 'succeeded', now(), now()),
       (:h_queued_job, :h, :u1, 'demo.echo', 'queued', null, null);
insert into public.project_invitations (project_id, email, token_hash, invited_by)
values (:h, 'someone@pgtap.test', repeat('b', 64), :u1);

select lives_ok(format('delete from auth.users where id = %L', :u1), 'deleting the last owner of two projects succeeds');
select is((select array_agg(user_id || ':' || role order by created_at) from public.project_members where project_id = :h),
          array[:u2 || ':owner', :u3 || ':collaborator'],
          'the longest-standing remaining member (a viewer) became owner; the others keep their roles');
select is((select count(*)::int from public.projects where id = :lonely), 0, 'a project left with no member is deleted');
select is((select created_by from public.projects where id = :h), null, 'projects.created_by became null');
select is((select array_agg(created_by) from public.jobs where id in (:h_done_job, :h_queued_job)), array[null, null]::uuid[],
          'jobs.created_by became null, on finished jobs too');
select is((select status from public.jobs where id = :h_done_job), 'succeeded'::public.job_status, 'the finished job stays finished');
select is((select array_agg(invited_by) from public.project_members where project_id = :h), array[null, null]::uuid[],
          'project_members.invited_by became null');
select is((select invited_by from public.project_invitations where project_id = :h), null, 'project_invitations.invited_by became null');
select is((select count(*)::int from public.profiles where id = :u1), 0, 'the profile went with the user');

-- A member who is not an owner: only their membership goes.
select lives_ok(format('delete from auth.users where id = %L', :u3), 'deleting a collaborator succeeds');
select is((select array_agg(user_id || ':' || role) from public.project_members where project_id = :h), array[:u2 || ':owner'],
          'their membership went; the owner is unchanged');

-- Another owner remains: no hand-over.
insert into public.projects (id, name, created_by) values (:shared, 'Shared', :u4);
insert into public.project_members (project_id, user_id, role, created_at)
values (:shared, :u5, 'owner', now() + interval '1 minute'), (:shared, :u6, 'viewer', now() + interval '2 minutes');
select lives_ok(format('delete from auth.users where id = %L', :u4), 'deleting one of two owners succeeds');
select is((select array_agg(user_id || ':' || role order by created_at) from public.project_members where project_id = :shared),
          array[:u5 || ':owner', :u6 || ':viewer'], 'the remaining owner stays the only owner; nobody else is promoted');

-- Several users in one statement: all owners of a project go together.
insert into public.projects (id, name, created_by) values (:pair, 'Pair', :u5);
insert into public.project_members (project_id, user_id, role, created_at)
values (:pair, :owner_id, 'owner', now() + interval '1 minute'),
       (:pair, :outsider_id, 'viewer', now() + interval '2 minutes'),
       (:pair, :viewer_id, 'collaborator', now() + interval '3 minutes');
select lives_ok(format('delete from auth.users where id in (%L, %L)', :u5, :owner_id),
                'deleting both owners of a project in one statement succeeds');
select is((select array_agg(user_id || ':' || role order by created_at) from public.project_members where project_id = :pair),
          array[:outsider_id || ':owner', :viewer_id || ':collaborator'],
          'the longest-standing member left becomes owner even when every owner goes at once');
select is((select array_agg(user_id || ':' || role) from public.project_members where project_id = :shared), array[:u6 || ':owner'],
          'and in the other project of a deleted owner, the member left became owner');

-- Several users in one statement: every member of a project goes.
insert into public.projects (id, name, created_by) values (:emptied, 'Emptied', :u2);
insert into public.project_members (project_id, user_id, role) values (:emptied, :u6, 'viewer');
select lives_ok(format('delete from auth.users where id in (%L, %L)', :u2, :u6), 'deleting every member of a project at once succeeds');
select is((select count(*)::int from public.projects where id in (:emptied, :h, :shared)), 0,
          'projects left with no member are deleted');
select is((select count(*)::int from public.jobs where project_id = :h), 0, 'their jobs went with them');

-- Section: the invariant holds for the survivors

select is((select count(*)::int from public.projects p
           where p.id in (:p_id, :pair)
             and not exists (select 1 from public.project_members m where m.project_id = p.id and m.role = 'owner')),
          0, 'every remaining project has an owner');

select * from finish();
rollback;
