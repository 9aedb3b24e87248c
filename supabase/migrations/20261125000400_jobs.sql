-- =============================================================================
-- Domain: jobs
--
-- Background jobs of a project. Collaborators and owners submit them; the worker (a
-- service connection) runs them and is the only writer of their status.
-- States: queued -> running -> succeeded | failed | cancelled, and queued -> cancelled.
-- Within a run a row never moves backwards; retry_job is the one way back
-- (failed | cancelled -> queued, as a new run).
-- =============================================================================

-- Section: types

create type public.job_status as enum ('queued', 'running', 'succeeded', 'failed', 'cancelled');
comment on type public.job_status is 'Lifecycle of a job; succeeded, failed and cancelled are final.';

-- Section: table

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  created_by uuid references auth.users (id) on delete set null default auth.uid(),
  type text not null check (char_length(type) between 1 and 100 and type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  payload jsonb not null default '{}' check (octet_length(payload::text) <= 65536),
  status public.job_status not null default 'queued',
  progress integer not null default 0 check (progress between 0 and 100),
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null default 3 check (max_attempts between 1 and 25),
  result jsonb,
  error text check (error is null or char_length(error) <= 10000),
  idempotency_key text check (idempotency_key is null or char_length(idempotency_key) between 1 and 255),
  cancel_requested_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint jobs_idempotency_key_unique unique (project_id, created_by, idempotency_key)
);
comment on table public.jobs is
  'Background jobs. Clients insert project_id, type, payload and idempotency_key; everything else is the worker''s.';

-- Section: indexes

create index jobs_project_created_idx on public.jobs (project_id, created_at desc, id desc);
create index jobs_project_status_created_idx on public.jobs (project_id, status, created_at desc, id desc);
create index jobs_unfinished_idx on public.jobs (status, created_at) where status in ('queued', 'running');
create index jobs_finished_at_idx on public.jobs (finished_at) where finished_at is not null;
create index jobs_created_by_idx on public.jobs (created_by);

-- Section: triggers

create trigger jobs_touch_updated_at
  before update on public.jobs
  for each row execute function private.touch_updated_at();

/**
 * Pins created_by to the submitting user on insert. (Clients cannot write the
 * worker-owned columns at all: their insert grant covers only project_id, type, payload
 * and idempotency_key.)
 */
create or replace function private.initialize_job()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if auth.uid() is not null then
    new.created_by := auth.uid();
  end if;
  return new;
end;
$$;
comment on function private.initialize_job() is 'Trigger: a user''s job is always created in their name.';
revoke all on function private.initialize_job() from public;

create trigger jobs_initialize
  before insert on public.jobs
  for each row execute function private.initialize_job();

/**
 * Keeps job rows moving forward: a transition the state machine does not allow is
 * ignored (the row is left as it was), progress and attempts never decrease within a
 * run, and a final state is only left through retry_job(). So a late or duplicate update
 * from the worker can never overwrite a final state.
 */
create or replace function private.guard_job_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  retrying boolean := coalesce(current_setting('tandem.retrying_job', true), '') = new.id::text;
begin
  if old.status = new.status then
    if old.status in ('succeeded', 'failed', 'cancelled') then
      -- The one change a final row accepts: its creator's account was deleted
      -- (on delete set null). Ignoring it would leave a dangling created_by.
      if old.created_by is not null and new.created_by is null then
        new := old;
        new.created_by := null;
        return new;
      end if;
      return null;
    end if;
    if old.status = 'running' then
      new.progress := greatest(old.progress, new.progress);
      new.attempts := greatest(old.attempts, new.attempts);
    end if;
    return new;
  end if;

  if (old.status = 'queued' and new.status in ('running', 'cancelled'))
     or (old.status = 'running' and new.status in ('succeeded', 'failed', 'cancelled'))
     or (old.status in ('failed', 'cancelled') and new.status = 'queued' and retrying) then
    if new.status = 'running' then
      new.attempts := greatest(old.attempts, new.attempts);
      new.started_at := coalesce(new.started_at, now());
    elsif new.status in ('succeeded', 'failed', 'cancelled') then
      new.finished_at := coalesce(new.finished_at, now());
      new.progress := case when new.status = 'succeeded' then 100 else greatest(old.progress, new.progress) end;
    end if;
    return new;
  end if;
  return null;
end;
$$;
comment on function private.guard_job_transition() is
  'Trigger: refuses (ignores) job updates that would move a row backwards.';
revoke all on function private.guard_job_transition() from public;

create trigger jobs_guard_transition
  before update on public.jobs
  for each row execute function private.guard_job_transition();

-- Section: RLS policies

alter table public.jobs enable row level security;

create policy "members read their projects' jobs"
  on public.jobs for select to authenticated
  using (project_id = any ((select private.my_project_ids())::uuid[]));

create policy "collaborators and owners submit jobs"
  on public.jobs for insert to authenticated
  with check (project_id = any ((select private.my_project_ids('{owner,collaborator}'))::uuid[]));

-- No update or delete policies for users: status is the worker's, and cancel_job() and
-- retry_job() are the only ways a user changes a job.

grant select on public.jobs to authenticated;
grant insert (project_id, type, payload, idempotency_key) on public.jobs to authenticated;
grant select, insert, update, delete on public.jobs to service_role;

-- Section: RPCs

/**
 * Loads a job the caller may act on (cancel or retry): its creator with at least
 * collaborator rights, or an owner of its project. Raises PT404 when the caller cannot
 * see the job and 42501 when they can see it but may not act on it.
 */
create or replace function private.job_for_action(job_id uuid, action text)
returns public.jobs
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  job public.jobs;
  caller_role public.project_role;
begin
  select * into job from public.jobs j where j.id = job_for_action.job_id for update;
  caller_role := private.my_role_in(job.project_id);
  if job.id is null or caller_role is null then
    raise exception 'job not found' using errcode = 'PT404';
  end if;
  if not (caller_role = 'owner' or (caller_role = 'collaborator' and job.created_by = auth.uid())) then
    raise exception 'you may not % this job', action using errcode = '42501';
  end if;
  return job;
end;
$$;
comment on function private.job_for_action(uuid, text) is 'Loads and locks a job the caller may cancel or retry.';
revoke all on function private.job_for_action(uuid, text) from public;

/**
 * Asks for a job to be cancelled. A queued job is cancelled at once (the worker drops it
 * from the queue); a running job gets cancel_requested_at and the worker aborts it.
 *
 * @example select public.cancel_job('…job uuid…');
 */
create or replace function public.cancel_job(job_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  job public.jobs := private.job_for_action(cancel_job.job_id, 'cancel');
begin
  if job.status in ('succeeded', 'failed', 'cancelled') then
    raise exception 'job is already %', job.status using errcode = 'PT409';
  end if;
  update public.jobs j
  set cancel_requested_at = coalesce(j.cancel_requested_at, now()),
      status = case when j.status = 'queued' then 'cancelled'::public.job_status else j.status end
  where j.id = job.id;
end;
$$;
comment on function public.cancel_job(uuid) is 'Cancels a queued job or asks the worker to abort a running one.';
revoke all on function public.cancel_job(uuid) from public, anon;
grant execute on function public.cancel_job(uuid) to authenticated, service_role;

/**
 * Puts a failed or cancelled job back in the queue as a new run (attempts, progress,
 * result and error reset).
 *
 * @example select public.retry_job('…job uuid…');
 */
create or replace function public.retry_job(job_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  job public.jobs := private.job_for_action(retry_job.job_id, 'retry');
begin
  if job.status not in ('failed', 'cancelled') then
    raise exception 'only failed or cancelled jobs can be retried (this one is %)', job.status using errcode = 'PT409';
  end if;
  perform set_config('tandem.retrying_job', job.id::text, true);
  update public.jobs j
  set status = 'queued', attempts = 0, progress = 0, result = null, error = null,
      cancel_requested_at = null, started_at = null, finished_at = null
  where j.id = job.id;
  perform set_config('tandem.retrying_job', '', true);
end;
$$;
comment on function public.retry_job(uuid) is 'Requeues a failed or cancelled job as a new run.';
revoke all on function public.retry_job(uuid) from public, anon;
grant execute on function public.retry_job(uuid) to authenticated, service_role;
