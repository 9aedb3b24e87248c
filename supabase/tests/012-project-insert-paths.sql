-- Every insert path on public.projects, aimed at a project that already exists, as each
-- kind of user who might know its id: a stranger (member of nothing), a former member, a
-- viewer, a collaborator, and the owner of another project. No path may create or change a
-- membership of a project row the statement did not insert; new rows mixed into the same
-- statement make their creator owner only when they are really inserted.
-- The PostgREST forms are the statements PostgREST builds for supabase-js `upsert()`
-- (resolution=ignore-duplicates / merge-duplicates, return=minimal / representation).
begin;
select plan(83);
\ir helpers/fixture.psql

\set stranger_id '''a0000000-0000-4000-8000-000000000005'''
\set former_id '''a0000000-0000-4000-8000-000000000006'''
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (:stranger_id, 'authenticated', 'authenticated', 'stranger@pgtap.test', now(), now()),
       (:former_id, 'authenticated', 'authenticated', 'former@pgtap.test', now(), now());
-- The former member was a viewer of P and left (they still know P's id).
insert into public.project_members (project_id, user_id, role) values (:p_id, :former_id, 'viewer');
delete from public.project_members where project_id = :p_id and user_id = :former_id;

/**
 * Runs one statement as a signed-in user, as PostgREST runs a request (role and claims local
 * to the transaction), inside a subtransaction: 'ok <rows>' when it succeeds (its effects
 * stay), else its SQLSTATE (its effects are rolled back, as PostgREST rolls back a failed
 * request).
 */
create function pg_temp.attempt(user_id uuid, statement text) returns text
language plpgsql as $$
declare
  affected integer;
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', user_id, 'role', 'authenticated', 'aud', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
  execute statement;
  get diagnostics affected = row_count;
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
  return 'ok ' || affected;
exception when others then
  return sqlstate;
end;
$$;

/** Every membership of a project, as 'user:role' sorted by user. */
create function pg_temp.members_of(project uuid) returns text[]
language sql as $$
  select coalesce(array_agg(m.user_id || ':' || m.role order by m.user_id), '{}')
  from public.project_members m where m.project_id = project;
$$;

/** The ids of the projects a user belongs to, with their role, sorted. */
create function pg_temp.memberships_of(member uuid) returns text[]
language sql as $$
  select coalesce(array_agg(m.project_id || ':' || m.role order by (m.project_id || ':' || m.role) collate "C"), '{}')
  from public.project_members m where m.user_id = member;
$$;

-- The attackers, and whether each is a member of P (a conflict target then passes the read
-- policy) or may edit P (the update branch of ON CONFLICT DO UPDATE then passes).
create temp table attackers (ord int, label text, id uuid, member boolean, editor boolean);
insert into attackers values
  (1, 'stranger', :stranger_id, false, false),
  (2, 'former member', :former_id, false, false),
  (3, 'viewer', :viewer_id, true, false),
  (4, 'collaborator', :collab_id, true, true),
  (5, 'owner of another project', :outsider_id, false, false);

-- The insert paths. %1$s is P's id, %2$s and %3$s are fresh ids for the new rows of mixed
-- statements. Expected outcome per attacker: for anyone, for a member of P, for an editor.
create temp table paths (ord int, label text, statement text, anyone text, member text, editor text, creates int);
insert into paths values
  (1, 'plain insert',
   $$insert into public.projects (id, name) values ('%1$s', 'taken')$$,
   '23505', '23505', '23505', 0),
  (2, 'on conflict do nothing (no target)',
   $$insert into public.projects (id, name) values ('%1$s', 'taken') on conflict do nothing$$,
   'ok 0', 'ok 0', 'ok 0', 0),
  (3, 'on conflict (id) do nothing',
   $$insert into public.projects (id, name) values ('%1$s', 'taken') on conflict (id) do nothing$$,
   '42501', 'ok 0', 'ok 0', 0),
  (4, 'PostgREST ignore-duplicates, return=minimal',
   $$insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%1$s", "name": "taken"}]') b
     on conflict (id) do nothing returning 1$$,
   '42501', 'ok 0', 'ok 0', 0),
  (5, 'PostgREST ignore-duplicates, return=representation',
   $$insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%1$s", "name": "taken"}]') b
     on conflict (id) do nothing returning id, name, description, created_by, created_at, updated_at$$,
   '42501', 'ok 0', 'ok 0', 0),
  (6, 'PostgREST merge-duplicates, return=minimal',
   $$insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%1$s", "name": "taken"}]') b
     on conflict (id) do update set id = excluded.id, name = excluded.name returning 1$$,
   '42501', '42501', '42501', 0),
  (7, 'PostgREST merge-duplicates, return=representation',
   $$insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%1$s", "name": "taken"}]') b
     on conflict (id) do update set id = excluded.id, name = excluded.name returning id, name, created_by$$,
   '42501', '42501', '42501', 0),
  (8, 'on conflict (id) do update set name',
   $$insert into public.projects (id, name) values ('%1$s', 'Matrix') on conflict (id) do update set name = excluded.name$$,
   '42501', '42501', 'ok 1', 0),
  (9, 'multi-row, new and existing ids, on conflict do nothing',
   $$insert into public.projects (id, name) values ('%2$s', 'mine'), ('%1$s', 'taken') on conflict do nothing$$,
   'ok 1', 'ok 1', 'ok 1', 1),
  (10, 'multi-row, new and existing ids, PostgREST ignore-duplicates',
   $$insert into public.projects (id, name)
     select b.id, b.name from json_populate_recordset(null::public.projects,
       '[{"id": "%1$s", "name": "taken"}, {"id": "%3$s", "name": "mine"}]') b
     on conflict (id) do nothing returning id, name$$,
   '42501', 'ok 1', 'ok 1', 1),
  (11, 'multi-row, new and existing ids, on conflict (id) do update set name ... returning',
   $$insert into public.projects (id, name) values ('%2$s', 'mine'), ('%1$s', 'Matrix')
     on conflict (id) do update set name = excluded.name returning id$$,
   '42501', '42501', 'ok 2', 1),
  (12, 'multi-row, new and existing ids, plain (fails on the existing id)',
   $$insert into public.projects (id, name) values ('%2$s', 'mine'), ('%1$s', 'taken')$$,
   '23505', '23505', '23505', 0),
  (13, 'merge ... when not matched then insert, new and existing ids',
   $$merge into public.projects t using (values ('%2$s'::uuid, 'mine'), ('%1$s'::uuid, 'taken')) s (id, name)
     on t.id = s.id when not matched then insert (id, name) values (s.id, s.name)$$,
   '23505', 'ok 1', 'ok 1', 1);

/** A fresh project id per attacker, path and slot, so every new row is accounted for. */
create function pg_temp.new_id(attacker int, path int, slot int) returns uuid
language sql immutable as $$
  select format('e%s%s0000-0000-4000-8000-%s', attacker, lpad(path::text, 2, '0'), lpad(slot::text, 12, '0'))::uuid;
$$;

create function pg_temp.run_paths() returns setof text
language plpgsql as $$
declare
  a record;
  p record;
  expected text;
  members_before text[] := pg_temp.members_of('b0000000-0000-4000-8000-000000000001');
  q_members_before text[] := pg_temp.members_of('b0000000-0000-4000-8000-000000000002');
  own_before text[];
  own_expected text[];
  outcome text;
begin
  for a in select * from attackers order by ord loop
    own_before := pg_temp.memberships_of(a.id);
    own_expected := own_before;
    for p in select * from paths order by ord loop
      expected := case when a.editor then p.editor when a.member then p.member else p.anyone end;
      outcome := pg_temp.attempt(a.id, format(p.statement, 'b0000000-0000-4000-8000-000000000001',
                                              pg_temp.new_id(a.ord, p.ord, 2), pg_temp.new_id(a.ord, p.ord, 3)));
      return next is(outcome, expected, format('%s: %s -> %s', a.label, p.label, expected));
      if outcome like 'ok %' and p.creates > 0 then
        own_expected := own_expected || array(
          select created.id || ':owner' from public.projects created
          where created.id in (pg_temp.new_id(a.ord, p.ord, 2), pg_temp.new_id(a.ord, p.ord, 3)));
      end if;
    end loop;
    return next is(pg_temp.members_of('b0000000-0000-4000-8000-000000000001'), members_before,
                   format('%s: the attacked project''s memberships are unchanged', a.label));
    return next is(pg_temp.memberships_of(a.id),
                   array(select e from unnest(own_expected) e order by e collate "C"),
                   format('%s: gained exactly the owner memberships of the new rows it inserted', a.label));
  end loop;
  return next is(pg_temp.members_of('b0000000-0000-4000-8000-000000000002'), q_members_before,
                 'the other project''s memberships are unchanged');
end;
$$;

select * from pg_temp.run_paths();

-- The attacked row itself: only the collaborator's allowed name edit (to the same name) touched it.
select is((select name || '/' || created_by from public.projects where id = :p_id), 'Matrix/' || :owner_id,
          'the attacked project keeps its name and creator');
-- New rows of mixed statements count exactly once each (the test above is not vacuous).
-- (Only pg_temp.new_id's ids: other suites insert random ids into the same database meanwhile.)
select is((select count(*)::int from public.projects where id::text like 'e___0000-0000-4000-8000-0000000000__'), 10,
          'the mixed statements inserted exactly their new rows: path 9 for everyone, 10 and 13 for members, 11 for the collaborator');

-- A brand-new id through every upsert form: the creator reads it back and becomes its owner,
-- except merge-duplicates, which authenticated may not use on projects at all.
\set fresh_a '''f0000000-0000-4000-8000-000000000001'''
\set fresh_b '''f0000000-0000-4000-8000-000000000002'''
\set fresh_c '''f0000000-0000-4000-8000-000000000003'''
select is(pg_temp.attempt(:stranger_id, format($$insert into public.projects (id, name)
  select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%s", "name": "fresh"}]') b
  on conflict (id) do nothing returning id, name, created_by$$, :fresh_a)), 'ok 1',
  'a new id through PostgREST ignore-duplicates, return=representation, is created and returned');
select is(pg_temp.attempt(:stranger_id, format($$insert into public.projects (id, name) values ('%s', 'fresh')
  on conflict (id) do update set name = excluded.name returning id$$, :fresh_b)), 'ok 1',
  'a new id through on conflict (id) do update ... returning is created and returned');
select is(pg_temp.attempt(:stranger_id, format($$insert into public.projects (id, name)
  select b.id, b.name from json_populate_recordset(null::public.projects, '[{"id": "%s", "name": "fresh"}]') b
  on conflict (id) do update set id = excluded.id, name = excluded.name returning 1$$, :fresh_c)), '42501',
  'PostgREST merge-duplicates is refused even for a new id (id is not an updatable column)');
select is((select array_agg(m.project_id || ':' || m.user_id || ':' || m.role order by m.project_id)
           from public.project_members m where m.project_id in (:fresh_a, :fresh_b, :fresh_c)),
          array[:fresh_a || ':' || :stranger_id || ':owner', :fresh_b || ':' || :stranger_id || ':owner'],
          'each new project has its creator as its only member, as owner');

-- Tripwire: the BEFORE triggers audited for side effects that outlive their statement
-- (supabase/migrations/20261202000100_projects_owner_only_for_inserted_rows.sql). Each one
-- only changes or refuses its own row; a new BEFORE trigger needs the same audit. The
-- invitation limits (20261202002200_invitation_limits.sql) only read and refuse.
select is(
  (select array_agg(c.relname || '.' || t.tgname || ' -> ' || p.proname order by (c.relname || '.' || t.tgname) collate "C")
   from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
   join pg_proc p on p.oid = t.tgfoid
   where n.nspname = 'public' and not t.tgisinternal and (t.tgtype & 2) <> 0),
  array['jobs.jobs_guard_transition -> guard_job_transition', 'jobs.jobs_pin_created_by -> pin_created_by',
        'jobs.jobs_touch_updated_at -> touch_updated_at',
        'profiles.profiles_touch_updated_at -> touch_updated_at',
        'project_invitations.limit_invitations -> limit_invitations',
        'project_invitations.refuse_anonymous_acceptance -> refuse_anonymous_acceptance',
        'project_members.project_members_keep_last_owner -> keep_last_owner',
        'projects.projects_pin_created_by -> pin_created_by', 'projects.projects_touch_updated_at -> touch_updated_at'],
  'the BEFORE triggers on public tables are exactly the audited ones');

select * from finish();
rollback;
