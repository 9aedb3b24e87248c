-- Authorization matrix, table public.jobs:
-- {anon, signed-in non-member, viewer, collaborator, owner, service_role} x {select, insert, update, delete}.
-- Contract: members read their projects' jobs; collaborators and owners submit them
-- (project_id, type, payload, idempotency_key only); status is the worker's
-- (service_role); users change jobs only through cancel_job / retry_job.
begin;
select plan(30);
\ir helpers/fixture.psql

\set fixture_jobs 'array[' :owner_job ',' :collab_job ',' :outsider_job ']::uuid[]'
\set update_sql '''update public.jobs set status = ''''running'''''''
\set delete_sql '''delete from public.jobs'''

-- Section: select

:as_anon
select throws_ok('select id from public.jobs', '42501', null, 'anon cannot read jobs');
reset role;
:as_outsider
select is((select array_agg(id order by id) from public.jobs where id = any (:fixture_jobs)), array[:outsider_job]::uuid[],
          'a non-member reads none of the project''s jobs (only their own project''s)');
reset role;
:as_viewer
select is((select array_agg(id order by id) from public.jobs where id = any (:fixture_jobs)), array[:owner_job, :collab_job]::uuid[],
          'a viewer reads the project''s jobs, not other projects''');
reset role;
:as_collab
select is((select array_agg(id order by id) from public.jobs where id = any (:fixture_jobs)), array[:owner_job, :collab_job]::uuid[],
          'a collaborator reads the project''s jobs, not other projects''');
reset role;
:as_owner
select is((select array_agg(id order by id) from public.jobs where id = any (:fixture_jobs)), array[:owner_job, :collab_job]::uuid[],
          'an owner reads the project''s jobs, not other projects''');
reset role;
:as_service
select is((select array_agg(id order by id) from public.jobs where id = any (:fixture_jobs)), :fixture_jobs,
          'service_role reads every job');
reset role;

-- Section: insert (collaborators and owners submit)

:as_anon
select throws_ok(format('insert into public.jobs (project_id, type) values (%L, %L)', :p_id, 'demo.echo'), '42501', null,
                 'anon cannot submit jobs');
reset role;
:as_outsider
select throws_ok(format('insert into public.jobs (project_id, type) values (%L, %L)', :p_id, 'demo.echo'), '42501', null,
                 'a non-member cannot submit jobs to the project');
reset role;
:as_viewer
select throws_ok(format('insert into public.jobs (project_id, type) values (%L, %L)', :p_id, 'demo.echo'), '42501', null,
                 'a viewer cannot submit jobs');
reset role;
:as_collab
with ins as (insert into public.jobs (project_id, type, payload, idempotency_key) values (:p_id, 'demo.echo', '{"by":"collab"}', 'k1')
             returning created_by, status, attempts)
select is((select (created_by, status, attempts)::text from ins), ('(' || :collab_id || ',queued,0)')::text,
          'a collaborator submits a job, created in their name, queued');
select throws_ok(format('insert into public.jobs (project_id, type, status) values (%L, %L, %L)', :p_id, 'demo.echo', 'succeeded'),
                 '42501', null, 'clients cannot set status');
select throws_ok(format('insert into public.jobs (project_id, type, created_by) values (%L, %L, %L)', :p_id, 'demo.echo', :owner_id),
                 '42501', null, 'clients cannot set created_by');
select throws_ok(format('insert into public.jobs (project_id, type) values (%L, %L)', :q_id, 'demo.echo'), '42501', null,
                 'a collaborator cannot submit jobs to a project they are not in');
reset role;
:as_owner
with ins as (insert into public.jobs (project_id, type) values (:p_id, 'demo.echo') returning created_by)
select is((select created_by from ins), :owner_id::uuid, 'an owner submits a job');
reset role;
:as_service
with ins as (insert into public.jobs (project_id, type, created_by, max_attempts) values (:q_id, 'demo.echo', :outsider_id, 5) returning 1)
select is(count(*)::int, 1, 'service_role inserts jobs with any column') from ins;
reset role;
select is((select count(*)::int from public.jobs where project_id in (:p_id, :q_id)), 6, 'exactly the allowed submissions happened');

-- Section: update (the worker's; users go through cancel_job / retry_job)

:as_anon
select throws_ok(:update_sql, '42501', null, 'anon cannot update jobs');
reset role;
:as_outsider
select throws_ok(:update_sql, '42501', null, 'a non-member cannot update jobs');
reset role;
:as_viewer
select throws_ok(:update_sql, '42501', null, 'a viewer cannot update jobs');
reset role;
:as_collab
select throws_ok(:update_sql, '42501', null, 'a collaborator cannot update jobs, even their own');
reset role;
:as_owner
select throws_ok(:update_sql, '42501', null, 'an owner cannot update jobs directly');
reset role;
:as_service
with u as (update public.jobs set status = 'running', attempts = 1 where id = :collab_job returning status)
select is((select status from u), 'running'::public.job_status, 'service_role (the worker) moves a job');
reset role;
select is((select array_agg(status order by id) from public.jobs where id = any (:fixture_jobs)),
          array['queued', 'running', 'queued']::public.job_status[], 'only the worker''s update took effect');

-- Section: delete

:as_anon
select throws_ok(:delete_sql, '42501', null, 'anon cannot delete jobs');
reset role;
:as_outsider
select throws_ok(:delete_sql, '42501', null, 'a non-member cannot delete jobs');
reset role;
:as_viewer
select throws_ok(:delete_sql, '42501', null, 'a viewer cannot delete jobs');
reset role;
:as_collab
select throws_ok(:delete_sql, '42501', null, 'a collaborator cannot delete jobs');
reset role;
:as_owner
select throws_ok(:delete_sql, '42501', null, 'an owner cannot delete jobs');
reset role;
:as_service
with d as (delete from public.jobs where id = :outsider_job returning 1)
select is(count(*)::int, 1, 'service_role deletes jobs') from d;
reset role;
select is((select count(*)::int from public.jobs where id = any (:fixture_jobs)), 2, 'only service_role''s delete happened');

select * from finish();
rollback;
