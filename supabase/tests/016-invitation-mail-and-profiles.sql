-- Mailed invitations (the private outbox), accepting from the list, re-inviting, the error
-- order for a wrong user, and profiles kept in step with the Auth user's metadata
-- (supabase/migrations/20261202002100_invitation_mail_and_profiles.sql).
begin;
select plan(42);
\ir helpers/fixture.psql

\set confirmed_id '''a0000000-0000-4000-8000-0000000000c1'''
\set unconfirmed_id '''a0000000-0000-4000-8000-0000000000c2'''
insert into auth.users (id, aud, role, email, email_confirmed_at, created_at, updated_at)
values (:confirmed_id, 'authenticated', 'authenticated', 'confirmed@pgtap.test', now(), now(), now()),
       (:unconfirmed_id, 'authenticated', 'authenticated', 'unconfirmed@pgtap.test', null, now(), now());
\set as_confirmed 'set local role authenticated; select from set_config(''request.jwt.claims'', ''{"sub":"a0000000-0000-4000-8000-0000000000c1","role":"authenticated","email":"confirmed@pgtap.test"}'', true);'
\set as_unconfirmed 'set local role authenticated; select from set_config(''request.jwt.claims'', ''{"sub":"a0000000-0000-4000-8000-0000000000c2","role":"authenticated","email":"unconfirmed@pgtap.test"}'', true);'

-- Section: the outbox

:as_owner
select public.create_invitation(:p_id, 'Confirmed@pgtap.test', 'collaborator') as confirmed_token \gset
select public.create_invitation(:p_id, 'unconfirmed@pgtap.test', 'viewer') as unconfirmed_token \gset
reset role;
select id as confirmed_inv from public.project_invitations where email = 'confirmed@pgtap.test' and revoked_at is null \gset
select id as unconfirmed_inv from public.project_invitations where email = 'unconfirmed@pgtap.test' and revoked_at is null \gset

select is((select token from private.invitation_mail where invitation_id = :'confirmed_inv'), :'confirmed_token',
          'create_invitation queues the same token it returns in the private outbox');
select is((select (mailed_at, mail_attempts, last_mail_error)::text from public.project_invitations where id = :'confirmed_inv'),
          '(,0,)', 'a new invitation is not mailed yet: no attempt, no error');

:as_owner
select throws_ok('select count(*) from private.invitation_mail', '42501', null, 'an owner cannot read the outbox');
reset role;
:as_collab
select throws_ok('select count(*) from private.invitation_mail', '42501', null, 'a collaborator cannot read the outbox');
select is((select count(*)::int from public.project_invitations), 0, 'a collaborator reads no invitation (no address, no status)');
reset role;
:as_service
select throws_ok('select count(*) from private.invitation_mail', '42501', null, 'service_role cannot read the outbox');
reset role;
:as_owner
select lives_ok(format('select mailed_at, mail_attempts, last_mail_error, replaced_by from public.project_invitations where id = %L', :'confirmed_inv'),
                'an owner reads the mail status of their invitations');
select throws_ok('select token_hash from public.project_invitations', '42501', null, 'nobody reads token_hash');
reset role;
select is((select count(*)::int from public.jobs where payload::text like '%' || :'confirmed_token' || '%'
             or payload::text ilike '%confirmed@pgtap.test%'), 0, 'no jobs row carries the token or the address');

-- Section: re-inviting

:as_owner
select public.create_invitation(:p_id, 'confirmed@pgtap.test', 'viewer') as confirmed_token_2 \gset
reset role;
select id as confirmed_inv_2 from public.project_invitations where email = 'confirmed@pgtap.test' and revoked_at is null \gset
select isnt(:'confirmed_token_2'::text, :'confirmed_token'::text, 're-inviting mints a new token');
select is((select (revoked_at is not null, replaced_by)::text from public.project_invitations where id = :'confirmed_inv'),
          format('(t,%s)', :'confirmed_inv_2'), 'the earlier invitation is revoked and names the one that replaced it');
select is((select count(*)::int from private.invitation_mail where invitation_id = :'confirmed_inv'), 0,
          'the earlier invitation''s unsent token leaves the outbox');
select is((select token from private.invitation_mail where invitation_id = :'confirmed_inv_2'), :'confirmed_token_2',
          'the new token is queued');

:as_confirmed
select throws_ok(format('select public.accept_invitation(%L)', :'confirmed_token'), 'PT409',
                 'invitation was replaced by a newer invitation to the same address; use the latest one',
                 'the invitee holding the old token is told it was replaced');
reset role;

-- Section: a wrong user hears "another address" before any state

:as_outsider
select throws_ok(format('select public.accept_invitation(%L)', :'confirmed_token'), '42501',
                 'this invitation was sent to another email address', 'a wrong user with a replaced token: another address');
reset role;
insert into public.project_invitations (project_id, email, role, token_hash, invited_by, created_at, expires_at)
values (:p_id, 'late@pgtap.test', 'viewer', encode(extensions.digest('late-token', 'sha256'), 'hex'), :owner_id,
        now() - interval '8 days', now() - interval '1 day');
insert into public.project_invitations (project_id, email, role, token_hash, invited_by, revoked_at)
values (:p_id, 'gone@pgtap.test', 'viewer', encode(extensions.digest('gone-token', 'sha256'), 'hex'), :owner_id, now());
update public.project_invitations set accepted_at = now() where email = 'invitee@pgtap.test';
:as_outsider
select throws_ok('select public.accept_invitation(''late-token'')', '42501', 'this invitation was sent to another email address',
                 'a wrong user with an expired token: another address');
select throws_ok('select public.accept_invitation(''gone-token'')', '42501', 'this invitation was sent to another email address',
                 'a wrong user with a revoked token: another address');
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', '42501', 'this invitation was sent to another email address',
                 'a wrong user with a used token: another address');
reset role;

-- Section: accept_invitation_from_list

:as_anon
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'confirmed_inv_2'), '42501', null,
                 'anon cannot accept from a list');
reset role;
:as_outsider
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'confirmed_inv_2'), 'PT404', 'invitation not found',
                 'someone else''s invitation is not found');
reset role;
:as_unconfirmed
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'unconfirmed_inv'), '42501',
                 'confirm your email address to accept from your list, or open the link in the invitation mail',
                 'an unconfirmed email cannot accept from the list');
select is(public.accept_invitation(:'unconfirmed_token'), :p_id::uuid, 'the same user can still accept with the mailed token');
reset role;
:as_confirmed
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'confirmed_inv'), 'PT409',
                 'invitation was replaced by a newer invitation to the same address; use the latest one',
                 'a replaced invitation cannot be accepted from the list');
select is(public.accept_invitation_from_list(:'confirmed_inv_2'), :p_id::uuid, 'a confirmed invitee accepts from the list, without the token');
select is((select role::text from public.project_members where project_id = :p_id and user_id = :confirmed_id), 'viewer',
          'they joined with the invited role');
select throws_ok(format('select public.accept_invitation_from_list(%L)', :'confirmed_inv_2'), 'PT409', 'invitation has already been used',
                 'accepting twice is refused');
reset role;
select is((select count(*)::int from private.invitation_mail where invitation_id in (:'confirmed_inv_2', :'unconfirmed_inv')), 0,
          'accepted invitations leave the outbox');

-- Revoking drops the unsent mail.
:as_owner
select public.create_invitation(:p_id, 'revokee@pgtap.test', 'viewer') is not null as ok \gset
reset role;
select id as revokee_inv from public.project_invitations where email = 'revokee@pgtap.test' \gset
:as_owner
select lives_ok(format('select public.revoke_invitation(%L)', :'revokee_inv'), 'the owner revokes');
reset role;
select is((select count(*)::int from private.invitation_mail where invitation_id = :'revokee_inv'), 0, 'a revoked invitation leaves the outbox');

-- Section: profiles

:as_viewer
update public.profiles set display_name = 'Vera Viewer', avatar_url = 'https://example.com/v.png' where id = :viewer_id;
reset role;
select is((select raw_user_meta_data ->> 'display_name' from auth.users where id = :viewer_id), 'Vera Viewer',
          'a profile edit is written back to the Auth user''s metadata');
select is((select raw_user_meta_data ->> 'avatar_url' from auth.users where id = :viewer_id), 'https://example.com/v.png',
          'the avatar too');
:as_collab
select is((select (display_name, avatar_url)::text from public.profiles where id = :viewer_id),
          '("Vera Viewer",https://example.com/v.png)', 'a co-member sees the edited profile');
update public.profiles set display_name = 'Hijacked' where id = :viewer_id;
reset role;
select is((select display_name from public.profiles where id = :viewer_id), 'Vera Viewer', 'nobody edits someone else''s profile');
:as_outsider
select is((select count(*)::int from public.profiles where id = :viewer_id), 0, 'a non-member does not see the profile');
select throws_ok(format('update public.profiles set email = %L where id = %L', 'x@pgtap.test', :outsider_id), '42501', null,
                 'the email is not editable through the profile');
reset role;

-- updateUser({ data }) writes raw_user_meta_data: the profile follows.
update auth.users set raw_user_meta_data = raw_user_meta_data || '{"display_name": "Collab Two", "avatar_url": "https://example.com/c.png"}'
where id = :collab_id;
select is((select (display_name, avatar_url)::text from public.profiles where id = :collab_id),
          '("Collab Two",https://example.com/c.png)', 'metadata set through Auth is copied to the profile');
update auth.users set raw_user_meta_data = raw_user_meta_data || '{"theme": "dark"}' where id = :collab_id;
select is((select display_name from public.profiles where id = :collab_id), 'Collab Two', 'other metadata keys leave the profile alone');
update auth.users set raw_user_meta_data = raw_user_meta_data || '{"avatar_url": ""}' where id = :collab_id;
select is((select avatar_url from public.profiles where id = :collab_id), null, 'an empty avatar_url clears it');
select is((select raw_user_meta_data ? 'avatar_url' from auth.users where id = :collab_id), false,
          'and the cleared avatar leaves the metadata (no null left behind)');

-- Avatars are http(s) URLs only.
:as_viewer
select throws_ok(format('update public.profiles set avatar_url = %L where id = %L', 'javascript:alert(1)', :viewer_id), '23514', null,
                 'a profile avatar must be an http(s) URL');
reset role;
update auth.users set raw_user_meta_data = raw_user_meta_data || '{"avatar_url": "javascript:alert(1)"}' where id = :collab_id;
select is((select avatar_url from public.profiles where id = :collab_id), null, 'a non-http avatar from the metadata is not kept (and fails nothing)');
insert into auth.users (id, aud, role, email, raw_user_meta_data, created_at, updated_at)
values ('a0000000-0000-4000-8000-0000000000c3', 'authenticated', 'authenticated', 'avatar@pgtap.test',
        '{"avatar_url": "data:image/png;base64,AAAA"}', now(), now());
select is((select avatar_url from public.profiles where id = 'a0000000-0000-4000-8000-0000000000c3'), null,
          'a sign-up with a non-http avatar still gets a profile, without the avatar');

select * from finish();
rollback;
