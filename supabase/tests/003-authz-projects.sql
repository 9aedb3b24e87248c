-- Authorization matrix, table public.projects:
-- {anon, signed-in non-member, viewer, collaborator, owner, service_role} x {select, insert, update, delete}.
-- Contract: members read; any signed-in user creates (and becomes owner); collaborators
-- and owners edit name/description; owners delete.
begin;
select plan(36);
\ir helpers/fixture.psql

\set fixture_projects 'array[' :p_id ',' :q_id ']::uuid[]'
-- Disposable projects with P's membership layout, for the delete cells.
\set d_id '''b0000000-0000-4000-8000-0000000000d1'''
\set e_id '''b0000000-0000-4000-8000-0000000000d2'''
insert into public.projects (id, name, created_by) values (:d_id, 'Doomed', :owner_id), (:e_id, 'Doomed too', :owner_id);
insert into public.project_members (project_id, user_id, role)
select d, u, r from unnest(array[:d_id, :e_id]::uuid[]) d,
  (values (:collab_id::uuid, 'collaborator'::public.project_role), (:viewer_id::uuid, 'viewer'::public.project_role)) m (u, r);

-- Section: select

:as_anon
select throws_ok('select id from public.projects', '42501', null, 'anon cannot read projects');
reset role;
:as_outsider
select is((select array_agg(id order by id) from public.projects where id = any (:fixture_projects)),
          array[:q_id]::uuid[], 'a non-member does not see the project (only their own)');
reset role;
:as_viewer
select is((select array_agg(id order by id) from public.projects where id = any (:fixture_projects)),
          array[:p_id]::uuid[], 'a viewer reads the project, not others''');
reset role;
:as_collab
select is((select array_agg(id order by id) from public.projects where id = any (:fixture_projects)),
          array[:p_id]::uuid[], 'a collaborator reads the project, not others''');
reset role;
:as_owner
select is((select array_agg(id order by id) from public.projects where id = any (:fixture_projects)),
          array[:p_id]::uuid[], 'an owner reads the project, not others''');
reset role;
:as_service
select is((select array_agg(id order by id) from public.projects where id = any (:fixture_projects)),
          :fixture_projects, 'service_role reads every project');
reset role;

-- Section: insert (any signed-in user creates projects and becomes their owner)

:as_anon
select throws_ok($$insert into public.projects (name) values ('by anon')$$, '42501', null, 'anon cannot create projects');
reset role;

:as_outsider
with ins as (insert into public.projects (name) values ('by outsider') returning id, created_by)
select is((select created_by from ins), :outsider_id::uuid, 'a signed-in non-member creates a project and reads it back (insert ... returning)');
reset role;
:as_viewer
with ins as (insert into public.projects (name) values ('by viewer') returning id)
select is(count(*)::int, 1, 'a viewer creates a project of their own') from ins;
reset role;
:as_collab
with ins as (insert into public.projects (name) values ('by collab') returning id)
select is(count(*)::int, 1, 'a collaborator creates a project of their own') from ins;
reset role;
:as_owner
with ins as (insert into public.projects (name) values ('by owner') returning created_by)
select is((select created_by from ins), :owner_id::uuid, 'created_by is always the creator');
select throws_ok(format('insert into public.projects (name, created_by) values (%L, %L)', 'forged', :viewer_id), '42501', null,
                 'created_by is not a client column');
reset role;
select is((select array_agg(p.name || ':' || m.role order by p.name)
           from public.projects p join public.project_members m on m.project_id = p.id
           where p.name like 'by %'),
          array['by collab:owner', 'by outsider:owner', 'by owner:owner', 'by viewer:owner'],
          'each creator became the only member of their project, as owner');
select is((select array_agg(m.user_id order by p.name) from public.projects p join public.project_members m on m.project_id = p.id
           where p.name like 'by %'),
          array[:collab_id, :outsider_id, :owner_id, :viewer_id]::uuid[], 'the owner membership belongs to the creator');
:as_collab
with ins as (insert into public.projects (name) values ('bulk 1'), ('bulk 2'), ('bulk 3') returning name)
select is((select array_agg(name order by name) from ins), array['bulk 1', 'bulk 2', 'bulk 3'],
          'a multi-row insert ... returning (supabase-js .insert([...]).select()) returns every new project');
reset role;
:as_service
with ins as (insert into public.projects (name) values ('by service') returning id)
select is(count(*)::int, 1, 'service_role creates a project') from ins;
reset role;
select is((select count(*)::int from public.project_members m join public.projects p on p.id = m.project_id where p.name = 'by service'),
          0, 'a project created by a service connection starts without members');

-- A creator who left their project no longer reads it (created_by alone grants nothing).
\set left_id '''b0000000-0000-4000-8000-0000000000e1'''
:as_admin
insert into public.projects (id, name, created_by) values (:left_id, 'Left behind', :collab_id);
insert into public.project_members (project_id, user_id, role) values (:left_id, :viewer_id, 'owner');
delete from public.project_members where project_id = :left_id and user_id = :collab_id;
:as_collab
select is((select count(*)::int from public.projects where id = :left_id), 0, 'a creator who left the project no longer reads it');
reset role;

-- Section: update

:as_anon
select throws_ok(format('update public.projects set name = %L where id = %L', 'x', :p_id), '42501', null, 'anon cannot update projects');
reset role;
:as_outsider
with u as (update public.projects set name = 'hacked' where id = :p_id returning 1)
select is(count(*)::int, 0, 'a non-member cannot edit the project') from u;
reset role;
:as_viewer
with u as (update public.projects set name = 'hacked' where id = :p_id returning 1)
select is(count(*)::int, 0, 'a viewer cannot edit the project') from u;
reset role;
:as_collab
with u as (update public.projects set description = 'edited by collab' where id = :p_id returning description)
select is((select description from u), 'edited by collab', 'a collaborator edits the description');
select throws_ok(format('update public.projects set created_by = %L where id = %L', :collab_id, :p_id), '42501', null,
                 'only name and description are editable');
reset role;
:as_owner
with u as (update public.projects set name = 'Matrix by owner' where id = :p_id returning name)
select is((select name from u), 'Matrix by owner', 'an owner edits the name');
with u as (update public.projects set name = 'hacked' where id = :q_id returning 1)
select is(count(*)::int, 0, 'an owner cannot edit a project they are not in') from u;
reset role;
:as_service
with u as (update public.projects set description = 'edited by service' where id = :q_id returning 1)
select is(count(*)::int, 1, 'service_role edits any project') from u;
reset role;
select is((select array_agg(name || '/' || description order by id) from public.projects where id = any (:fixture_projects)),
          array['Matrix by owner/edited by collab', 'Elsewhere/edited by service'], 'exactly the allowed edits took effect');

-- Section: delete

:as_anon
select throws_ok(format('delete from public.projects where id = %L', :d_id), '42501', null, 'anon cannot delete projects');
reset role;
:as_outsider
with d as (delete from public.projects where id = :d_id returning 1)
select is(count(*)::int, 0, 'a non-member cannot delete the project') from d;
reset role;
:as_viewer
with d as (delete from public.projects where id = :d_id returning 1)
select is(count(*)::int, 0, 'a viewer cannot delete the project') from d;
reset role;
:as_collab
with d as (delete from public.projects where id = :d_id returning 1)
select is(count(*)::int, 0, 'a collaborator cannot delete the project') from d;
reset role;
:as_owner
with d as (delete from public.projects where id = :d_id returning 1)
select is(count(*)::int, 1, 'an owner deletes the project (never blocked by the last-owner rule)') from d;
reset role;
:as_service
with d as (delete from public.projects where id = :e_id returning 1)
select is(count(*)::int, 1, 'service_role deletes any project') from d;
reset role;
select is((select count(*)::int from public.projects where id in (:d_id, :e_id)), 0, 'both disposable projects are gone');
select is((select count(*)::int from public.project_members where project_id in (:d_id, :e_id)), 0, 'their memberships went with them');
select is((select count(*)::int from public.projects where id = any (:fixture_projects)), 2, 'the other projects remain');

select * from finish();
rollback;
