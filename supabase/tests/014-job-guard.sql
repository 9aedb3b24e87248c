-- The job state machine's one way back (private.guard_job_transition): a failed or
-- cancelled job returns to `queued` only through retry_job, which sets
-- tandem.retrying_job to its id. A plain update — even by service_role, which bypasses
-- RLS, or by the table's owner — changes nothing and announces nothing.
begin;
select plan(14);
\ir helpers/fixture.psql

\set failed_job '''c0000000-0000-4000-8000-0000000000c1'''
\set cancelled_job '''c0000000-0000-4000-8000-0000000000c2'''
insert into public.jobs (id, project_id, created_by, type, status, attempts, progress, error, started_at, finished_at, cancel_requested_at)
values (:failed_job, :p_id, :owner_id, 'demo.echo', 'failed', 3, 40, 'attempt 3/3: boom', now(), now(), null),
       (:cancelled_job, :p_id, :collab_id, 'demo.echo', 'cancelled', 1, 20, null, now(), now(), now());
select count(*)::int as events_before from realtime.messages
where event = 'job_updated' and payload ->> 'id' in (:failed_job, :cancelled_job) \gset

-- Section: as service_role, without retry's permission

:as_service
with u as (update public.jobs set status = 'queued' where id = :failed_job returning 1)
select is(count(*)::int, 0, 'service_role: failed -> queued by a plain update is ignored') from u;
with u as (update public.jobs set status = 'queued' where id = :cancelled_job returning 1)
select is(count(*)::int, 0, 'service_role: cancelled -> queued by a plain update is ignored') from u;
with u as (update public.jobs set status = 'queued', attempts = 0, progress = 0, error = null, started_at = null,
                                  finished_at = null, cancel_requested_at = null
           where id in (:failed_job, :cancelled_job) returning 1)
select is(count(*)::int, 0, 'service_role: a plain update that also resets the run is ignored') from u;
select set_config('tandem.retrying_job', '', true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued' where id in (:failed_job, :cancelled_job) returning 1)
select is(count(*)::int, 0, 'service_role: an empty retry permission is no permission') from u;
select set_config('tandem.retrying_job', :owner_job, true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued' where id in (:failed_job, :cancelled_job) returning 1)
select is(count(*)::int, 0, 'service_role: another job''s retry permission does not apply') from u;
select set_config('tandem.retrying_job', upper(:failed_job), true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued' where id = :failed_job returning 1)
select is(count(*)::int, 0, 'service_role: the permission must name the job exactly as Postgres renders its id') from u;
select set_config('tandem.retrying_job', '', true) is not null as ignored \gset
reset role;

-- Section: as the table's owner (postgres), without retry's permission

with u as (update public.jobs set status = 'queued' where id in (:failed_job, :cancelled_job) returning 1)
select is(count(*)::int, 0, 'the table owner: failed|cancelled -> queued by a plain update is ignored') from u;

-- Section: nothing changed, nothing announced

select is((select (status, attempts, progress, error, finished_at is not null)::text from public.jobs where id = :failed_job),
          '(failed,3,40,"attempt 3/3: boom",t)', 'the failed row is as it was');
select is((select (status, attempts, progress, cancel_requested_at is not null, finished_at is not null)::text from public.jobs where id = :cancelled_job),
          '(cancelled,1,20,t,t)', 'the cancelled row is as it was');
select is((select count(*)::int from realtime.messages where event = 'job_updated' and payload ->> 'id' in (:failed_job, :cancelled_job)),
          :events_before, 'ignored updates announce nothing');

-- Section: the one way back still works (the guard, not a permission, refused the above)

:as_service
select set_config('tandem.retrying_job', :failed_job, true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued', attempts = 0 where id = :failed_job returning status)
select is((select status from u), 'queued'::public.job_status, 'with its own retry permission, failed -> queued is allowed');
select set_config('tandem.retrying_job', :cancelled_job, true) is not null as ignored \gset
with u as (update public.jobs set status = 'queued', attempts = 0 where id = :cancelled_job returning status)
select is((select status from u), 'queued'::public.job_status, 'with its own retry permission, cancelled -> queued is allowed');
select set_config('tandem.retrying_job', '', true) is not null as ignored \gset
reset role;
select is((select count(*)::int from public.jobs where id in (:failed_job, :cancelled_job) and status = 'queued'), 2, 'both rows are queued again');
select is((select count(*)::int from realtime.messages where event = 'job_updated' and payload ->> 'id' in (:failed_job, :cancelled_job)),
          :events_before + 2, 'each allowed move is announced once');

select * from finish();
rollback;
