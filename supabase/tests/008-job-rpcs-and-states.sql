-- cancel_job and retry_job for every role, and the job state machine
-- (private.guard_job_transition): out-of-order and duplicate updates cannot move a row
-- backwards, and a final state is only left through retry_job.
begin;
select plan(53);
\ir helpers/fixture.psql

\set run_collab '''c0000000-0000-4000-8000-0000000000a1'''
\set failed_owner '''c0000000-0000-4000-8000-0000000000a2'''
\set failed_collab '''c0000000-0000-4000-8000-0000000000a3'''
\set done_job '''c0000000-0000-4000-8000-0000000000a4'''
\set viewer_job '''c0000000-0000-4000-8000-0000000000a5'''
\set viewer_failed '''c0000000-0000-4000-8000-0000000000a6'''
-- Jobs of the viewer from when they were a collaborator.
insert into public.jobs (id, project_id, created_by, type, status, attempts, started_at, finished_at)
values (:viewer_job, :p_id, :viewer_id, 'demo.echo', 'queued', 0, null, null),
       (:viewer_failed, :p_id, :viewer_id, 'demo.echo', 'failed', 1, now(), now());
insert into public.jobs (id, project_id, created_by, type, status, attempts, progress, error, started_at, finished_at)
values (:run_collab, :p_id, :collab_id, 'demo.echo', 'running', 1, 10, null, now(), null),
       (:failed_owner, :p_id, :owner_id, 'demo.echo', 'failed', 3, 40, 'boom', now(), now()),
       (:failed_collab, :p_id, :collab_id, 'demo.echo', 'failed', 3, 40, 'boom', now(), now()),
       (:done_job, :p_id, :owner_id, 'demo.echo', 'succeeded', 1, 100, null, now(), now());

-- Section: cancel_job

:as_anon
select throws_ok(format('select public.cancel_job(%L)', :owner_job), '42501', null, 'anon cannot call cancel_job');
reset role;
:as_outsider
select throws_ok(format('select public.cancel_job(%L)', :owner_job), 'PT404', 'job not found', 'a non-member is told the job does not exist');
reset role;
:as_viewer
select throws_ok(format('select public.cancel_job(%L)', :collab_job), '42501', 'you may not cancel this job', 'a viewer cannot cancel jobs');
select throws_ok(format('select public.cancel_job(%L)', :viewer_job), '42501', 'you may not cancel this job', 'a viewer cannot cancel even their own job');
reset role;
:as_collab
select throws_ok(format('select public.cancel_job(%L)', :owner_job), '42501', 'you may not cancel this job',
                 'a collaborator cannot cancel someone else''s job');
reset role;
:as_service
select throws_ok(format('select public.cancel_job(%L)', :owner_job), 'PT404', null,
                 'service_role has no membership to cancel with (the worker writes the table directly)');
reset role;
select is((select array_agg(status::text || ':' || (cancel_requested_at is null) order by id) from public.jobs where id in (:owner_job, :collab_job)),
          array['queued:true', 'queued:true'], 'no refused cancel changed anything');

:as_collab
select lives_ok(format('select public.cancel_job(%L)', :collab_job), 'a collaborator cancels their own queued job');
reset role;
select is((select (status, cancel_requested_at is not null, finished_at is not null)::text from public.jobs where id = :collab_job),
          '(cancelled,t,t)', 'a queued job is cancelled at once');

:as_owner
select lives_ok(format('select public.cancel_job(%L)', :run_collab), 'an owner cancels anyone''s running job');
reset role;
select is((select (status, cancel_requested_at is not null, finished_at is null)::text from public.jobs where id = :run_collab),
          '(running,t,t)', 'a running job only gets cancel_requested_at (the worker aborts it)');
select cancel_requested_at as first_request from public.jobs where id = :run_collab \gset
:as_owner
select lives_ok(format('select public.cancel_job(%L)', :run_collab), 'cancelling twice is harmless');
select throws_ok(format('select public.cancel_job(%L)', :done_job), 'PT409', 'job is already succeeded', 'a finished job cannot be cancelled');
select throws_ok(format('select public.cancel_job(%L)', :collab_job), 'PT409', 'job is already cancelled', 'a cancelled job cannot be cancelled again');
select throws_ok('select public.cancel_job(gen_random_uuid())', 'PT404', 'job not found', 'an unknown job is not found');
select throws_ok(format('select public.cancel_job(%L)', :outsider_job), 'PT404', 'job not found', 'an owner cannot cancel jobs of other projects');
reset role;
select is((select cancel_requested_at from public.jobs where id = :run_collab), :'first_request'::timestamptz,
          'the first cancel request time is kept');

-- Section: retry_job

:as_anon
select throws_ok(format('select public.retry_job(%L)', :failed_owner), '42501', null, 'anon cannot call retry_job');
reset role;
:as_outsider
select throws_ok(format('select public.retry_job(%L)', :failed_owner), 'PT404', 'job not found', 'a non-member is told the job does not exist');
reset role;
:as_viewer
select throws_ok(format('select public.retry_job(%L)', :failed_collab), '42501', 'you may not retry this job', 'a viewer cannot retry jobs');
select throws_ok(format('select public.retry_job(%L)', :viewer_failed), '42501', 'you may not retry this job', 'a viewer cannot retry even their own job');
reset role;
:as_collab
select throws_ok(format('select public.retry_job(%L)', :failed_owner), '42501', 'you may not retry this job',
                 'a collaborator cannot retry someone else''s job');
reset role;
:as_service
select throws_ok(format('select public.retry_job(%L)', :failed_owner), 'PT404', null, 'service_role has no membership to retry with');
reset role;
select is((select status from public.jobs where id = :failed_owner), 'failed'::public.job_status, 'no refused retry changed anything');

:as_collab
select lives_ok(format('select public.retry_job(%L)', :collab_job), 'a collaborator retries their own cancelled job');
reset role;
select is((select (status, attempts, progress, error, cancel_requested_at, started_at, finished_at)::text from public.jobs where id = :collab_job),
          '(queued,0,0,,,,)', 'a retried job is queued as a new run (attempts, progress, error, timestamps reset)');
:as_owner
select lives_ok(format('select public.retry_job(%L)', :failed_collab), 'an owner retries anyone''s failed job');
select throws_ok(format('select public.retry_job(%L)', :owner_job), 'PT409', null, 'a queued job cannot be retried');
select throws_ok(format('select public.retry_job(%L)', :run_collab), 'PT409', null, 'a running job cannot be retried');
select throws_ok(format('select public.retry_job(%L)', :done_job), 'PT409', null, 'a succeeded job cannot be retried');
reset role;
select is((select (status, attempts, error)::text from public.jobs where id = :failed_collab), '(queued,0,)',
          'failed -> queued with attempts reset');
select is(current_setting('tandem.retrying_job', true), '', 'retry_job leaves no retry permission behind');

-- Section: state machine (as the worker, service_role)

\set j '''c0000000-0000-4000-8000-0000000000b1'''
\set k '''c0000000-0000-4000-8000-0000000000b2'''
insert into public.jobs (id, project_id, created_by, type) values (:j, :p_id, :owner_id, 'demo.echo'), (:k, :p_id, :owner_id, 'demo.echo');
:as_service
with u as (update public.jobs set status = 'running', attempts = 1 where id = :j returning started_at)
select isnt((select started_at from u), null, 'queued -> running sets started_at');
update public.jobs set progress = 50 where id = :j;
with u as (update public.jobs set progress = 30 where id = :j returning progress)
select is((select progress from u), 50, 'a late progress update never lowers progress');
with u as (update public.jobs set attempts = 0 where id = :j returning attempts)
select is((select attempts from u), 1, 'attempts never decrease within a run');
with u as (update public.jobs set status = 'queued' where id = :j returning 1)
select is(count(*)::int, 0, 'running -> queued is ignored') from u;
with u as (update public.jobs set status = 'succeeded', result = '{"ok":true}' where id = :j returning progress, finished_at)
select is((select (progress, finished_at is not null)::text from u), '(100,t)', 'running -> succeeded sets progress 100 and finished_at');
reset role;
select count(*)::int as events_before from realtime.messages where event = 'job_updated' and payload ->> 'id' = :j \gset
:as_service
with u as (update public.jobs set status = 'running', progress = 60 where id = :j returning 1)
select is(count(*)::int, 0, 'an out-of-order running update after success is ignored') from u;
with u as (update public.jobs set status = 'succeeded', result = '{"ok":"again"}' where id = :j returning 1)
select is(count(*)::int, 0, 'a duplicate succeeded update is ignored') from u;
with u as (update public.jobs set status = 'failed', error = 'late failure' where id = :j returning 1)
select is(count(*)::int, 0, 'succeeded -> failed is ignored') from u;
with u as (update public.jobs set status = 'queued' where id = :j returning 1)
select is(count(*)::int, 0, 'a final state is not left by a plain update') from u;
select set_config('tandem.retrying_job', 'c0000000-0000-4000-8000-0000000000b2', true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued' where id = :j returning 1)
select is(count(*)::int, 0, 'another job''s retry permission does not apply') from u;
select set_config('tandem.retrying_job', '', true) is not null as ignored \gset
reset role;
select is((select (status, progress, result, error)::text from public.jobs where id = :j), '(succeeded,100,"{""ok"": true}",)',
          'the row still holds its first final state');
select is((select count(*)::int from realtime.messages where event = 'job_updated' and payload ->> 'id' = :j), :events_before,
          'ignored updates announce nothing');

:as_service
with u as (update public.jobs set status = 'succeeded' where id = :k returning 1)
select is(count(*)::int, 0, 'queued -> succeeded (skipping running) is ignored') from u;
with u as (update public.jobs set status = 'failed' where id = :k returning 1)
select is(count(*)::int, 0, 'queued -> failed (skipping running) is ignored') from u;
with u as (update public.jobs set status = 'cancelled' where id = :k returning status)
select is((select status from u), 'cancelled'::public.job_status, 'queued -> cancelled is allowed');
with u as (update public.jobs set status = 'running', attempts = 1 where id = :k returning 1)
select is(count(*)::int, 0, 'a worker picking up a cancelled job cannot revive it') from u;
reset role;
:as_owner
select lives_ok(format('select public.retry_job(%L)', :k), 'retry_job is the way back');
reset role;
:as_service
with u as (update public.jobs set status = 'running', attempts = 1 where id = :k returning status)
select is((select status from u), 'running'::public.job_status, 'the new run starts');
with u as (update public.jobs set status = 'failed', error = 'boom', progress = 20 where id = :k returning finished_at)
select isnt((select finished_at from u), null, 'running -> failed sets finished_at');
with u as (update public.jobs set status = 'running', attempts = 2 where id = :k returning 1)
select is(count(*)::int, 0, 'failed -> running is ignored (retries go through retry_job)') from u;
reset role;
select is((select (status, attempts, error)::text from public.jobs where id = :k), '(failed,1,boom)', 'the failed row is intact');

select * from finish();
rollback;
