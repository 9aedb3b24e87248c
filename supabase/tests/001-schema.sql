-- Schema structure: the data contract's tables, types, RPCs and RLS are in place.
begin;
select plan(29);

select has_table('public', 'profiles', 'profiles exists');
select has_table('public', 'projects', 'projects exists');
select has_table('public', 'project_members', 'project_members exists');
select has_table('public', 'project_invitations', 'project_invitations exists');
select has_table('public', 'jobs', 'jobs exists');

select enum_has_labels('public', 'project_role', array['owner', 'collaborator', 'viewer'], 'project_role labels');
select enum_has_labels('public', 'job_status', array['queued', 'running', 'succeeded', 'failed', 'cancelled'], 'job_status labels');

select columns_are('public', 'jobs', array[
  'id', 'project_id', 'created_by', 'type', 'payload', 'status', 'progress', 'attempts', 'max_attempts',
  'result', 'error', 'idempotency_key', 'cancel_requested_at', 'created_at', 'started_at', 'finished_at', 'updated_at'
], 'jobs has exactly the contract''s columns');
select columns_are('public', 'project_members', array['project_id', 'user_id', 'role', 'invited_by', 'created_at'],
  'project_members has exactly the contract''s columns');
select col_default_is('public', 'jobs', 'max_attempts', '3', 'max_attempts defaults to 3');

select has_function('public', 'create_invitation', array['uuid', 'text', 'project_role'], 'create_invitation(project_id, email, role)');
select has_function('public', 'accept_invitation', array['text'], 'accept_invitation(token)');
select has_function('public', 'revoke_invitation', array['uuid'], 'revoke_invitation(invitation_id)');
select has_function('public', 'my_invitations', array[]::text[], 'my_invitations()');
select has_function('public', 'cancel_job', array['uuid'], 'cancel_job(job_id)');
select has_function('public', 'retry_job', array['uuid'], 'retry_job(job_id)');
select hasnt_function('private', 'announce_job_change', array[]::text[], 'the superseded per-row job announcer is gone');
select hasnt_trigger('public', 'jobs', 'jobs_announce_change', 'and so is its trigger');

select is(
  (select string_agg(p.proname || '(' || array_to_string(p.proargnames, ', ') || ')', '; ' order by p.proname collate "C")
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and p.proname in ('create_invitation', 'accept_invitation', 'revoke_invitation', 'cancel_job', 'retry_job')),
  'accept_invitation(token); cancel_job(job_id); create_invitation(project_id, email, role); retry_job(job_id); revoke_invitation(invitation_id)',
  'RPC argument names are the contract''s'
);

select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity),
  0, 'every public table has RLS enabled');

select is(
  (select count(*)::int from information_schema.role_table_grants
   where table_schema = 'public' and grantee = 'anon'),
  0, 'nothing in public is granted to anon (tables)');
select is(
  (select count(*)::int from information_schema.role_column_grants
   where table_schema = 'public' and grantee = 'anon'),
  0, 'nothing in public is granted to anon (columns)');
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and has_function_privilege('anon', p.oid, 'execute')),
  0, 'no public function is executable by anon');

select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'private' and p.prosecdef
     and not coalesce(p.proconfig @> array['search_path=""'], false)),
  0, 'every security-definer helper in private sets search_path to empty');

select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p') and obj_description(c.oid, 'pg_class') is null),
  0, 'every public table has a doc comment');
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private') and obj_description(p.oid, 'pg_proc') is null),
  0, 'every public and private function has a doc comment');

select is(
  (select rolsuper from pg_roles where rolname = 'postgres'), false,
  'postgres is not a superuser, as on hosted Supabase');
select is(
  (select string_agg(nspname || '=' || pg_get_userbyid(nspowner), ', ' order by nspname)
   from pg_namespace where nspname in ('auth', 'extensions', 'realtime')),
  'auth=supabase_admin, extensions=postgres, realtime=supabase_admin',
  'auth and realtime are owned by supabase_admin, extensions by postgres, as on Supabase');
select ok(
  (select count(*) >= 5 from pg_inherits where inhparent = 'realtime.messages'::regclass),
  'realtime.messages has daily partitions from yesterday to today + 3');

select * from finish();
rollback;
