-- Authorization matrix, table public.profiles:
-- {anon, signed-in non-member, viewer, collaborator, owner, service_role} x {select, insert, update, delete}.
-- Contract: readable by the user and by everyone who shares a project with them; the user
-- may update display_name and avatar_url; no client insert or delete.
begin;
select plan(33);
\ir helpers/fixture.psql

-- A user whose profile row is missing, for the insert cells.
\set spare_id '''a0000000-0000-4000-8000-0000000000ff'''
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (:spare_id, 'authenticated', 'authenticated', 'spare@pgtap.test', now(), now());
delete from public.profiles where id = :spare_id;

\set fixture_users 'array[' :owner_id ',' :collab_id ',' :viewer_id ',' :outsider_id ']::uuid[]'

-- Section: select

:as_anon
select throws_ok('select id from public.profiles', '42501', null, 'anon cannot read profiles');
reset role;

:as_outsider
select is((select array_agg(id order by id) from public.profiles where id = any (:fixture_users)),
          array[:outsider_id]::uuid[], 'a non-member reads only their own profile');
reset role;

:as_viewer
select is((select array_agg(id order by id) from public.profiles where id = any (:fixture_users)),
          array[:owner_id, :collab_id, :viewer_id]::uuid[], 'a viewer reads the profiles of their co-members, not others''');
reset role;

:as_collab
select is((select array_agg(id order by id) from public.profiles where id = any (:fixture_users)),
          array[:owner_id, :collab_id, :viewer_id]::uuid[], 'a collaborator reads the profiles of their co-members, not others''');
reset role;

:as_owner
select is((select array_agg(id order by id) from public.profiles where id = any (:fixture_users)),
          array[:owner_id, :collab_id, :viewer_id]::uuid[], 'an owner reads the profiles of their co-members, not others''');
reset role;

:as_service
select is((select array_agg(id order by id) from public.profiles where id = any (:fixture_users)),
          :fixture_users, 'service_role reads every profile');
reset role;

-- Section: insert (profiles follow auth.users; only service_role may write them directly)

:as_anon
select throws_ok(format('insert into public.profiles (id) values (%L)', :spare_id), '42501', null, 'anon cannot insert a profile');
reset role;
:as_outsider
select throws_ok(format('insert into public.profiles (id) values (%L)', :spare_id), '42501', null, 'a non-member cannot insert a profile');
reset role;
:as_viewer
select throws_ok(format('insert into public.profiles (id) values (%L)', :spare_id), '42501', null, 'a viewer cannot insert a profile');
reset role;
:as_collab
select throws_ok(format('insert into public.profiles (id) values (%L)', :spare_id), '42501', null, 'a collaborator cannot insert a profile');
reset role;
:as_owner
select throws_ok(format('insert into public.profiles (id) values (%L)', :spare_id), '42501', null, 'an owner cannot insert a profile');
reset role;
:as_service
with ins as (insert into public.profiles (id, email) values (:spare_id, 'spare@pgtap.test') returning id)
select is(count(*)::int, 1, 'service_role inserts a profile') from ins;
reset role;

-- Section: update

:as_anon
select throws_ok(format('update public.profiles set display_name = %L where id = %L', 'x', :owner_id), '42501', null,
                 'anon cannot update profiles');
reset role;

:as_outsider
with u as (update public.profiles set display_name = 'hacked' where id = :owner_id returning 1)
select is(count(*)::int, 0, 'a non-member cannot update someone else''s profile') from u;
with u as (update public.profiles set display_name = 'Outsider 2' where id = :outsider_id returning display_name)
select is((select display_name from u), 'Outsider 2', 'a non-member updates their own display_name');
reset role;

:as_viewer
with u as (update public.profiles set display_name = 'hacked' where id = :owner_id returning 1)
select is(count(*)::int, 0, 'a viewer cannot update a co-member''s profile') from u;
with u as (update public.profiles set avatar_url = 'https://example.com/v.png' where id = :viewer_id returning avatar_url)
select is((select avatar_url from u), 'https://example.com/v.png', 'a viewer updates their own avatar_url');
reset role;

:as_collab
with u as (update public.profiles set display_name = 'hacked' where id = :viewer_id returning 1)
select is(count(*)::int, 0, 'a collaborator cannot update a co-member''s profile') from u;
with u as (update public.profiles set display_name = 'Collab 2' where id = :collab_id returning display_name)
select is((select display_name from u), 'Collab 2', 'a collaborator updates their own display_name');
reset role;

:as_owner
with u as (update public.profiles set display_name = 'hacked' where id = :collab_id returning 1)
select is(count(*)::int, 0, 'an owner cannot update a member''s profile') from u;
with u as (update public.profiles set display_name = 'Owner 2' where id = :owner_id returning display_name)
select is((select display_name from u), 'Owner 2', 'an owner updates their own display_name');
select throws_ok(format('update public.profiles set email = %L where id = %L', 'evil@example.com', :owner_id), '42501', null,
                 'nobody updates their profile''s email (it follows auth.users)');
reset role;

:as_service
with u as (update public.profiles set display_name = 'Renamed by service' where id = :viewer_id returning 1)
select is(count(*)::int, 1, 'service_role updates any profile') from u;
reset role;

select is((select array_agg(display_name order by id) from public.profiles where id = any (:fixture_users)),
          array['Owner 2', 'Collab 2', 'Renamed by service', 'Outsider 2'],
          'exactly the allowed profile updates took effect');

-- Section: delete

:as_anon
select throws_ok(format('delete from public.profiles where id = %L', :spare_id), '42501', null, 'anon cannot delete profiles');
reset role;
:as_outsider
select throws_ok(format('delete from public.profiles where id = %L', :outsider_id), '42501', null, 'a non-member cannot delete even their own profile');
reset role;
:as_viewer
select throws_ok(format('delete from public.profiles where id = %L', :viewer_id), '42501', null, 'a viewer cannot delete even their own profile');
reset role;
:as_collab
select throws_ok(format('delete from public.profiles where id = %L', :collab_id), '42501', null, 'a collaborator cannot delete even their own profile');
reset role;
:as_owner
select throws_ok(format('delete from public.profiles where id = %L', :owner_id), '42501', null, 'an owner cannot delete even their own profile');
reset role;
:as_service
with d as (delete from public.profiles where id = :spare_id returning 1)
select is(count(*)::int, 1, 'service_role deletes a profile') from d;
reset role;

select is((select count(*)::int from public.profiles where id = any (:fixture_users)), 4, 'no fixture profile was deleted');

-- The sign-up trigger: the profile exists with the metadata's display name and the email.
select is((select email from public.profiles where id = :collab_id), 'collab@pgtap.test', 'the profile carries the user''s email');
update auth.users set email = 'collab2@pgtap.test' where id = :collab_id;
select is((select email from public.profiles where id = :collab_id), 'collab2@pgtap.test', 'an email change in auth.users reaches the profile');

select * from finish();
rollback;
