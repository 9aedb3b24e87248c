-- RPCs create_invitation, accept_invitation, revoke_invitation and my_invitations, for
-- every role. Errors carry PostgREST's SQLSTATEs: PT404 not found, PT409 conflict,
-- 42501 forbidden, 22023 invalid argument.
begin;
select plan(47);
\ir helpers/fixture.psql

\set invitee_id '''a0000000-0000-4000-8000-0000000000a1'''
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (:invitee_id, 'authenticated', 'authenticated', 'invitee@pgtap.test', now(), now());
\set as_invitee 'set local role authenticated; select from set_config(''request.jwt.claims'', ''{"sub":"a0000000-0000-4000-8000-0000000000a1","role":"authenticated","email":"Invitee@PGTAP.test"}'', true);'
\set as_invitee_other_email 'set local role authenticated; select from set_config(''request.jwt.claims'', ''{"sub":"a0000000-0000-4000-8000-0000000000a1","role":"authenticated","email":"someone-else@pgtap.test"}'', true);'

-- Section: create_invitation

:as_anon
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'a@pgtap.test', 'viewer'), '42501', null,
                 'anon cannot call create_invitation');
reset role;
:as_outsider
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'a@pgtap.test', 'viewer'), 'PT404', 'project not found',
                 'a non-member is told the project does not exist');
reset role;
:as_viewer
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'a@pgtap.test', 'viewer'), '42501', 'only owners can invite people',
                 'a viewer cannot invite');
reset role;
:as_collab
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'a@pgtap.test', 'viewer'), '42501', 'only owners can invite people',
                 'a collaborator cannot invite');
reset role;
:as_service
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'a@pgtap.test', 'viewer'), '42501', 'sign in to invite people',
                 'service_role has no user to invite in the name of');
reset role;

:as_owner
select public.create_invitation(:p_id, '  NewCollab@PGTAP.test ', 'collaborator') as collab_token \gset
select matches(:'collab_token'::text, '^[0-9a-f]{64}$', 'an owner invites and gets a 64-hex-digit token once');
select public.create_invitation(:p_id, 'owner2@pgtap.test', 'owner') as owner_token \gset
select isnt(:'owner_token'::text, :'collab_token'::text, 'tokens are random');
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'not-an-email', 'viewer'), '22023', null,
                 'an invalid email is refused');
select throws_ok(format('select public.create_invitation(%L, %L, null)', :p_id, 'b@pgtap.test'), '22023', null,
                 'the role is required');
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :p_id, 'Viewer@pgtap.test', 'owner'), 'PT409',
                 'viewer@pgtap.test is already a member of this project', 'inviting a member is a conflict');
select throws_ok(format('select public.create_invitation(%L, %L, %L)', :q_id, 'b@pgtap.test', 'viewer'), 'PT404', null,
                 'an owner cannot invite to a project they are not in');
reset role;
select is((select (email, role, invited_by)::text from public.project_invitations
           where token_hash = encode(extensions.digest(:'collab_token', 'sha256'), 'hex')),
          ('(newcollab@pgtap.test,collaborator,' || :owner_id || ')')::text,
          'the invitation stores the normalized email, the role, the inviter and only the token''s SHA-256');
select is((select count(*)::int from public.project_invitations where token_hash = :'collab_token'), 0, 'the raw token is not stored');

-- Inviting the same email again replaces the pending invitation.
:as_owner
select public.create_invitation(:p_id, 'newcollab@pgtap.test', 'viewer') as collab_token_2 \gset
reset role;
select is((select array_agg(role::text || ':' || (revoked_at is not null) order by created_at, role) from public.project_invitations
           where email = 'newcollab@pgtap.test'), array['collaborator:true', 'viewer:false'],
          're-inviting revokes the previous pending invitation');

-- Section: my_invitations

:as_anon
select throws_ok('select * from public.my_invitations()', '42501', null, 'anon cannot call my_invitations');
reset role;
:as_invitee
select results_eq('select id, project_id, project_name, role, invited_by from public.my_invitations()',
                  format('select %L::uuid, %L::uuid, %L, %L::public.project_role, %L::uuid', :invitation_id, :p_id, 'Matrix', 'viewer', :owner_id),
                  'the invitee lists their pending invitation with the project''s name (email matched case-insensitively)');
reset role;
:as_outsider
select is((select count(*)::int from public.my_invitations()), 0, 'others list no invitation');
reset role;
select is((select count(*)::int from unnest(string_to_array(
             (select pg_get_function_result('public.my_invitations()'::regprocedure)), ',')) c where c ilike '%token%'),
          0, 'my_invitations returns no token column');
select is((select pg_get_function_result('public.my_invitations()'::regprocedure)),
          'TABLE(id uuid, project_id uuid, project_name text, role project_role, invited_by uuid, expires_at timestamp with time zone)',
          'my_invitations returns exactly the contract''s columns');

-- Section: accept_invitation

:as_anon
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', '42501', null, 'anon cannot call accept_invitation');
reset role;
:as_service
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', '42501', 'sign in to accept an invitation',
                 'service_role cannot accept invitations');
reset role;
:as_invitee
select throws_ok('select public.accept_invitation(''no-such-token'')', 'PT404', 'invitation not found', 'an unknown token is not found');
select throws_ok('select public.accept_invitation(null)', 'PT404', 'invitation not found', 'a null token is not found');
reset role;
:as_invitee_other_email
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', '42501', 'this invitation was sent to another email address',
                 'the caller''s email must be the invited one');
reset role;
:as_outsider
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', '42501', 'this invitation was sent to another email address',
                 'another signed-in user cannot use someone else''s token');
reset role;
:as_invitee
select is(public.accept_invitation('pgtap-token-1'), :p_id::uuid, 'the invitee accepts and gets the project id');
select throws_ok('select public.accept_invitation(''pgtap-token-1'')', 'PT409', 'invitation has already been used',
                 'a used token is refused');
select is((select role from public.project_members where project_id = :p_id and user_id = :invitee_id), 'viewer'::public.project_role,
          'the invitee is now a member with the invited role, visible to them');
reset role;
select is((select invited_by from public.project_members where project_id = :p_id and user_id = :invitee_id), :owner_id::uuid,
          'the membership records the inviter');
select isnt((select accepted_at from public.project_invitations where id = :invitation_id), null, 'the invitation is marked accepted');

-- Expired and revoked invitations, each with its own message.
insert into public.project_invitations (project_id, email, role, token_hash, invited_by, created_at, expires_at)
values (:q_id, 'invitee@pgtap.test', 'viewer', encode(extensions.digest('expired-token', 'sha256'), 'hex'), :outsider_id,
        now() - interval '8 days', now() - interval '1 day'),
       (:q_id, 'invitee@pgtap.test', 'collaborator', encode(extensions.digest('revoked-token', 'sha256'), 'hex'), :outsider_id,
        now(), now() + interval '7 days');
select id as revoked_id from public.project_invitations
where token_hash = encode(extensions.digest('revoked-token', 'sha256'), 'hex') \gset
:as_outsider
select lives_ok(format('select public.revoke_invitation(%L)', :'revoked_id'), 'the outsider (owner of Q) revokes their invitation');
reset role;
:as_invitee
select throws_ok('select public.accept_invitation(''expired-token'')', 'PT409', 'invitation has expired', 'an expired token is refused');
select throws_ok('select public.accept_invitation(''revoked-token'')', 'PT409', 'invitation has been revoked', 'a revoked token is refused');
select is((select count(*)::int from public.my_invitations()), 0, 'expired, revoked and accepted invitations are not listed');
reset role;
select is((select count(*)::int from public.project_members where project_id = :q_id and user_id = :invitee_id), 0,
          'refused tokens added no membership');

-- An existing member who accepts keeps their role.
insert into public.project_invitations (project_id, email, role, token_hash, invited_by)
values (:p_id, 'viewer@pgtap.test', 'owner', encode(extensions.digest('upgrade-token', 'sha256'), 'hex'), :owner_id);
:as_viewer
select is(public.accept_invitation('upgrade-token'), :p_id::uuid, 'a member may accept an invitation to their own project');
reset role;
select is((select role from public.project_members where project_id = :p_id and user_id = :viewer_id), 'viewer'::public.project_role,
          'an existing member keeps their current role');

-- Section: revoke_invitation

\set pending_id '(select id from public.project_invitations where email = ''newcollab@pgtap.test'' and revoked_at is null)'
:as_anon
select throws_ok(format('select public.revoke_invitation(%L)', :invitation_id), '42501', null, 'anon cannot call revoke_invitation');
reset role;
select :pending_id as pending_id \gset
:as_outsider
select throws_ok(format('select public.revoke_invitation(%L)', :'pending_id'), 'PT404', 'invitation not found',
                 'a non-member is told the invitation does not exist');
reset role;
:as_viewer
select throws_ok(format('select public.revoke_invitation(%L)', :'pending_id'), '42501', 'only owners can revoke invitations',
                 'a viewer cannot revoke');
reset role;
:as_collab
select throws_ok(format('select public.revoke_invitation(%L)', :'pending_id'), '42501', 'only owners can revoke invitations',
                 'a collaborator cannot revoke');
reset role;
:as_service
select throws_ok(format('select public.revoke_invitation(%L)', :'pending_id'), 'PT404', null,
                 'service_role has no membership to revoke with (it writes the table directly)');
reset role;
:as_owner
select lives_ok(format('select public.revoke_invitation(%L)', :'pending_id'), 'an owner revokes a pending invitation');
select lives_ok(format('select public.revoke_invitation(%L)', :'pending_id'), 'revoking twice is harmless');
select throws_ok(format('select public.revoke_invitation(%L)', :invitation_id), 'PT409', 'invitation has already been used',
                 'a used invitation cannot be revoked');
select throws_ok('select public.revoke_invitation(gen_random_uuid())', 'PT404', 'invitation not found', 'an unknown invitation is not found');
reset role;
select isnt((select revoked_at from public.project_invitations where id = :'pending_id'), null, 'the revoked invitation carries revoked_at');

select * from finish();
rollback;
