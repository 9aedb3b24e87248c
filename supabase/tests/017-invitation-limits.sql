-- Limits on mailed invitations (supabase/migrations/20261202002200_invitation_limits.sql):
-- anonymous users neither invite nor accept; 100 invitations an hour per inviter, 5 per
-- address and project.
begin;
select plan(10);
\ir helpers/fixture.psql

\set anon_user_id '''a0000000-0000-4000-8000-0000000000a1'''
insert into auth.users (id, aud, role, email, email_confirmed_at, is_anonymous, created_at, updated_at)
values (:anon_user_id, 'authenticated', 'authenticated', 'squatter@pgtap.test', now(), true, now(), now());
\set as_anonymous_user 'set local role authenticated; select from set_config(''request.jwt.claims'', ''{"sub":"a0000000-0000-4000-8000-0000000000a1","role":"authenticated","email":"squatter@pgtap.test","is_anonymous":true}'', true);'

-- Section: anonymous users

:as_admin
insert into public.projects (id, name, created_by) values ('b0000000-0000-4000-8000-0000000000a1', 'Anon''s', :anon_user_id);
:as_anonymous_user
select throws_ok($$select public.create_invitation('b0000000-0000-4000-8000-0000000000a1', 'victim@pgtap.test', 'viewer')$$,
                 '42501', 'anonymous users cannot invite people; sign up with an email first',
                 'an anonymous user cannot invite, even to their own project');
reset role;

:as_owner
select public.create_invitation(:p_id, 'squatter@pgtap.test', 'collaborator') as squat_token \gset
reset role;
select id as squat_inv from public.project_invitations where email = 'squatter@pgtap.test' and revoked_at is null \gset
:as_anonymous_user
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'squat_inv'),
                 '42501', 'anonymous users cannot accept invitations; sign up with an email first',
                 'an anonymous user whose added email counts as confirmed cannot accept from the list');
select throws_ok(format('select public.accept_invitation(%L)', :'squat_token'),
                 '42501', 'anonymous users cannot accept invitations; sign up with an email first',
                 'nor with the token');
reset role;
select is((select count(*)::int from public.project_members where user_id = :anon_user_id and project_id = :p_id), 0,
          'a refused acceptance leaves no membership behind');
select is((select accepted_at from public.project_invitations where id = :'squat_inv'), null, 'and the invitation stays pending');

-- Section: how often

:as_owner
select public.create_invitation(:p_id, 'often@pgtap.test', 'viewer') from generate_series(1, 5);
select throws_ok($$select public.create_invitation('b0000000-0000-4000-8000-000000000001', 'often@pgtap.test', 'viewer')$$,
                 'PT429', 'often@pgtap.test was invited to this project 5 times in the last hour; try again later',
                 'the 6th invitation of one address to one project in an hour is refused');
select lives_ok($$select public.create_invitation('b0000000-0000-4000-8000-000000000001', 'other@pgtap.test', 'viewer')$$,
                'another address is still invited');
reset role;
select is((select count(*)::int from private.invitation_mail m join public.project_invitations i on i.id = m.invitation_id where i.email = 'often@pgtap.test'), 1,
          'of the five, only the pending one still has a mail queued');

:as_admin
insert into public.project_invitations (project_id, email, role, token_hash, invited_by, created_at)
select :p_id, format('bulk-%s@pgtap.test', n), 'viewer', md5(n::text) || md5(n::text), :owner_id, now()
from generate_series(1, 100 - (select count(*)::int from public.project_invitations
                               where invited_by = :owner_id and created_at > now() - interval '1 hour')) n;
select is((select count(*)::int from public.project_invitations where invited_by = :owner_id), 100, 'the owner has 100 invitations this hour');
:as_owner
select throws_ok($$select public.create_invitation('b0000000-0000-4000-8000-000000000001', 'one-more@pgtap.test', 'viewer')$$,
                 'PT429', 'too many invitations: at most 100 an hour', 'an inviter''s invitations are capped at 100 an hour');
reset role;

select * from finish();
rollback;
