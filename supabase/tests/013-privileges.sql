-- Privileges, read from the catalog (aclexplode over pg_class, pg_attribute, pg_proc): the
-- exact table-, column- and function-level grants of PUBLIC, anon, authenticated and
-- service_role on every Tandem object. The same list must hold on a database whose default
-- privileges grant ALL in public to the API roles (`supabase start`) and on one without
-- (npm test runs this file on both); supabase/migrations/20261202000200_exact_grants.sql
-- is where the list comes from. A new object or grant fails here until it is added.
begin;
select plan(9);

create temp view api_grants as
  select coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type, a.is_grantable, a.object_kind, a.object_name
  from (
    select (aclexplode(c.relacl)).*, 'table' as object_kind, c.relname::text as object_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relacl is not null
    union all
    select (aclexplode(at.attacl)).*, 'column', c.relname || '.' || at.attname
    from pg_attribute at join pg_class c on c.oid = at.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and at.attacl is not null and not at.attisdropped
    union all
    select (aclexplode(coalesce(p.proacl, acldefault('f', p.proowner)))).*, 'function',
           n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private')
  ) a
  left join pg_roles r on r.oid = a.grantee
  where a.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role');

/** The grants of one kind, as 'grantee privilege object', sorted (collation C). */
create function pg_temp.grants_of(kind text) returns text[] language sql as $$
  select coalesce(array_agg(g order by g collate "C"), '{}') from (
    select grantee || ' ' || privilege_type || ' ' || object_name as g from api_grants where object_kind = kind
  ) grants;
$$;

select is(
  (select array_agg(c.relkind::text || ' ' || c.relname order by c.relname collate "C")
   from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')),
  array['r jobs', 'r profiles', 'r project_invitations', 'r project_members', 'r projects'],
  'public holds exactly the five tables (no views, no sequences) whose grants are listed here');

select is(pg_temp.grants_of('table'), array[
  'authenticated DELETE project_members', 'authenticated DELETE projects',
  'authenticated SELECT jobs', 'authenticated SELECT profiles', 'authenticated SELECT project_members',
  'authenticated SELECT projects',
  'service_role DELETE jobs', 'service_role DELETE profiles', 'service_role DELETE project_invitations',
  'service_role DELETE project_members', 'service_role DELETE projects',
  'service_role INSERT jobs', 'service_role INSERT profiles', 'service_role INSERT project_invitations',
  'service_role INSERT project_members', 'service_role INSERT projects',
  'service_role SELECT jobs', 'service_role SELECT profiles', 'service_role SELECT project_invitations',
  'service_role SELECT project_members', 'service_role SELECT projects',
  'service_role UPDATE jobs', 'service_role UPDATE profiles', 'service_role UPDATE project_invitations',
  'service_role UPDATE project_members', 'service_role UPDATE projects'
], 'table-level grants: the role matrix for authenticated, DML for service_role, nothing for anon or PUBLIC');

select is(pg_temp.grants_of('column'), array[
  'authenticated INSERT jobs.idempotency_key', 'authenticated INSERT jobs.payload', 'authenticated INSERT jobs.project_id',
  'authenticated INSERT jobs.type',
  'authenticated INSERT projects.description', 'authenticated INSERT projects.id', 'authenticated INSERT projects.name',
  'authenticated SELECT project_invitations.accepted_at', 'authenticated SELECT project_invitations.created_at',
  'authenticated SELECT project_invitations.email', 'authenticated SELECT project_invitations.expires_at',
  'authenticated SELECT project_invitations.id', 'authenticated SELECT project_invitations.invited_by',
  'authenticated SELECT project_invitations.last_mail_error', 'authenticated SELECT project_invitations.mail_attempts',
  'authenticated SELECT project_invitations.mailed_at',
  'authenticated SELECT project_invitations.project_id', 'authenticated SELECT project_invitations.replaced_by',
  'authenticated SELECT project_invitations.revoked_at',
  'authenticated SELECT project_invitations.role',
  'authenticated UPDATE profiles.avatar_url', 'authenticated UPDATE profiles.display_name',
  'authenticated UPDATE project_members.role',
  'authenticated UPDATE projects.description', 'authenticated UPDATE projects.name'
], 'column-level grants: only the columns a client may write (and the invitation columns but token_hash)');

select is(pg_temp.grants_of('function'), array[
  'authenticated EXECUTE private.my_co_member_ids()', 'authenticated EXECUTE private.my_project_ids(roles project_role[])',
  'authenticated EXECUTE private.my_role_in_events_topic()',
  'authenticated EXECUTE private.my_role_in_topic()', 'authenticated EXECUTE private.project_exists(project_id uuid)',
  'authenticated EXECUTE public.accept_invitation(token text)',
  'authenticated EXECUTE public.accept_invitation_from_list(invitation_id uuid)', 'authenticated EXECUTE public.cancel_job(job_id uuid)',
  'authenticated EXECUTE public.create_invitation(project_id uuid, email text, role project_role)',
  'authenticated EXECUTE public.my_invitations()', 'authenticated EXECUTE public.retry_job(job_id uuid)',
  'authenticated EXECUTE public.revoke_invitation(invitation_id uuid)',
  'service_role EXECUTE public.accept_invitation(token text)',
  'service_role EXECUTE public.accept_invitation_from_list(invitation_id uuid)', 'service_role EXECUTE public.cancel_job(job_id uuid)',
  'service_role EXECUTE public.create_invitation(project_id uuid, email text, role project_role)',
  'service_role EXECUTE public.my_invitations()', 'service_role EXECUTE public.retry_job(job_id uuid)',
  'service_role EXECUTE public.revoke_invitation(invitation_id uuid)'
], 'function grants: the RPCs to authenticated and service_role, the policy helpers to authenticated, nothing to anon or PUBLIC');

select is((select count(*)::int from api_grants where is_grantable), 0, 'no API role may pass a privilege on');
select is((select count(*)::int from api_grants where privilege_type in ('TRUNCATE', 'REFERENCES', 'TRIGGER')), 0,
          'no API role holds truncate, references or trigger on anything');

-- The same, as the roles see it (has_*_privilege also counts PUBLIC and role membership).
select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace, unnest(array['anon']) r (role),
     unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p (privilege)
   where n.nspname = 'public' and c.relkind = 'r' and has_table_privilege(r.role, c.oid, p.privilege)),
  0, 'anon holds no privilege on any public table');
select is(
  (select count(*)::int from pg_attribute at join pg_class c on c.oid = at.attrelid join pg_namespace n on n.oid = c.relnamespace,
     unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p (privilege)
   where n.nspname = 'public' and c.relkind = 'r' and at.attnum > 0 and not at.attisdropped
     and has_column_privilege('anon', c.oid, at.attnum, p.privilege)),
  0, 'anon holds no privilege on any column');
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private') and has_function_privilege('anon', p.oid, 'execute')),
  0, 'anon may execute no Tandem function');

select * from finish();
rollback;
