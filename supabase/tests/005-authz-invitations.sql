-- Authorization matrix, table public.project_invitations:
-- {anon, signed-in non-member, viewer, collaborator, owner, service_role} x {select, insert, update, delete}.
-- Contract: owners of the project read its invitations (never the token hash); nobody
-- else reads the table; clients change invitations only through the RPCs.
begin;
select plan(28);
\ir helpers/fixture.psql

\set cols 'id, project_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at'
\set insert_sql '''insert into public.project_invitations (project_id, email, token_hash) values (''''b0000000-0000-4000-8000-000000000001'''', ''''x@pgtap.test'''', repeat(''''a'''', 64))'''
\set update_sql '''update public.project_invitations set revoked_at = now()'''
\set delete_sql '''delete from public.project_invitations'''

-- Section: select

:as_anon
select throws_ok('select id from public.project_invitations', '42501', null, 'anon cannot read invitations');
reset role;
:as_outsider
select is((select count(*)::int from public.project_invitations), 0, 'a non-member reads no invitation');
reset role;
:as_viewer
select is((select count(*)::int from public.project_invitations), 0, 'a viewer reads no invitation');
reset role;
:as_collab
select is((select count(*)::int from public.project_invitations), 0, 'a collaborator reads no invitation');
reset role;
:as_owner
select is((select array_agg(id) from (select :cols from public.project_invitations where project_id = :p_id) i),
          array[:invitation_id]::uuid[], 'an owner reads their project''s invitations');
select throws_ok('select token_hash from public.project_invitations', '42501', null, 'not even an owner reads the token hash');
select throws_ok('select * from public.project_invitations', '42501', null, 'select * is refused because of the hidden token hash');
reset role;
:as_service
select is((select count(*)::int from public.project_invitations where id = :invitation_id and token_hash is not null), 1,
          'service_role reads invitations, token hash included');
reset role;

-- Section: insert (only through create_invitation)

:as_anon
select throws_ok(:insert_sql, '42501', null, 'anon cannot insert invitations');
reset role;
:as_outsider
select throws_ok(:insert_sql, '42501', null, 'a non-member cannot insert invitations');
reset role;
:as_viewer
select throws_ok(:insert_sql, '42501', null, 'a viewer cannot insert invitations');
reset role;
:as_collab
select throws_ok(:insert_sql, '42501', null, 'a collaborator cannot insert invitations');
reset role;
:as_owner
select throws_ok(:insert_sql, '42501', null, 'an owner cannot insert invitations directly (create_invitation hashes the token)');
reset role;
:as_service
select lives_ok(:insert_sql, 'service_role inserts invitations');
reset role;
select is((select count(*)::int from public.project_invitations where email = 'x@pgtap.test'), 1, 'only service_role''s insert happened');

-- Section: update (only through revoke_invitation / accept_invitation)

:as_anon
select throws_ok(:update_sql, '42501', null, 'anon cannot update invitations');
reset role;
:as_outsider
select throws_ok(:update_sql, '42501', null, 'a non-member cannot update invitations');
reset role;
:as_viewer
select throws_ok(:update_sql, '42501', null, 'a viewer cannot update invitations');
reset role;
:as_collab
select throws_ok(:update_sql, '42501', null, 'a collaborator cannot update invitations');
reset role;
:as_owner
select throws_ok(:update_sql, '42501', null, 'an owner cannot update invitations directly');
reset role;
:as_service
with u as (update public.project_invitations set expires_at = now() + interval '1 day' where id = :invitation_id returning 1)
select is(count(*)::int, 1, 'service_role updates invitations') from u;
reset role;

-- Section: delete

:as_anon
select throws_ok(:delete_sql, '42501', null, 'anon cannot delete invitations');
reset role;
:as_outsider
select throws_ok(:delete_sql, '42501', null, 'a non-member cannot delete invitations');
reset role;
:as_viewer
select throws_ok(:delete_sql, '42501', null, 'a viewer cannot delete invitations');
reset role;
:as_collab
select throws_ok(:delete_sql, '42501', null, 'a collaborator cannot delete invitations');
reset role;
:as_owner
select throws_ok(:delete_sql, '42501', null, 'an owner cannot delete invitations directly');
reset role;
select is((select revoked_at from public.project_invitations where id = :invitation_id), null,
          'no refused write changed the invitation');
:as_service
with d as (delete from public.project_invitations where project_id = :p_id returning 1)
select is(count(*)::int, 2, 'service_role deletes invitations') from d;
reset role;

select * from finish();
rollback;
