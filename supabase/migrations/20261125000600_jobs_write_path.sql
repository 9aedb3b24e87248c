-- =============================================================================
-- Domain: jobs — the write path under load
--
-- Profiling the benchmark (docs/benchmarks.md) found two costs on every status write:
--   1. `jobs_announce_change` ran per row: each row paid a plpgsql call, a `realtime.send`
--      subtransaction and its own `realtime.messages` insert. A worker batch of 30 rows
--      paid that 30 times. The announcement is now per statement: one insert of all the
--      statement's `job_updated` messages, in one subtransaction.
--   2. The partial index `jobs_unfinished_idx (status, created_at) where status in
--      ('queued', 'running')` matched the worker's own conditions (`status in (...)`), so
--      when statistics lagged behind a burst of inserts the planner scanned every
--      unfinished row for each batch instead of looking the batch's ids up by primary
--      key (EXPLAIN, 12 ids among 2,000 queued rows: all 2,000 visited; the scan grows with
--      the backlog). The sweeper's index is
--      now keyed on `finished_at is null` (the same rows: the transition guard sets
--      finished_at exactly when a row becomes final, and retry_job clears it), which the
--      worker's conditions never imply, and ordered by id as the sweeper pages.
-- Rows the jobs function enqueues itself (it sets `tandem.job_enqueued_by_caller`) no
-- longer NOTIFY `tandem_jobs`: the dispatcher would only re-add what is already queued.
-- =============================================================================

-- Section: indexes

drop index if exists public.jobs_unfinished_idx;
create index jobs_unfinished_idx on public.jobs (id) where finished_at is null;
comment on index public.jobs_unfinished_idx is
  'Queued and running rows (finished_at is null), in id order: the sweeper pages through them.';

-- Section: job events

drop trigger if exists jobs_announce_change on public.jobs;
drop function if exists private.announce_job_change();

/**
 * After a statement writes job rows: announces job_updated on each row's project channel
 * (one realtime.messages insert for the whole statement, with realtime.send's payload,
 * row shape and error handling), and NOTIFYs tandem_jobs so the worker enqueues new and
 * retried jobs and aborts cancelled ones, whichever path wrote the rows (function,
 * supabase-js or SQL). Inserts made with `tandem.job_enqueued_by_caller = on` (the jobs
 * function, which enqueues right after its commit) are not NOTIFYed.
 */
create or replace function private.announce_job_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  change record;
  enqueued_by_caller boolean := coalesce(current_setting('tandem.job_enqueued_by_caller', true), '') = 'on';
begin
  -- An update the transition guard refused (or one that matched nothing) announces nothing.
  if not exists (select 1 from new_rows) then
    return null;
  end if;
  -- As realtime.send: a failed announcement (e.g. a missing daily partition) is a
  -- warning, never a failed job write.
  begin
    insert into realtime.messages (payload, event, topic, private, extension)
    select jsonb_build_object('id', n.id, 'project_id', n.project_id, 'type', n.type, 'status', n.status,
                              'progress', n.progress, 'attempts', n.attempts, 'error', n.error,
                              'updated_at', n.updated_at),
           'job_updated', private.project_topic(n.project_id), true, 'broadcast'
    from new_rows n;
  exception
    when others then
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;

  if tg_op = 'INSERT' then
    if not enqueued_by_caller then
      for change in select n.id from new_rows n loop
        perform pg_notify('tandem_jobs', json_build_object('op', 'insert', 'id', change.id)::text);
      end loop;
    end if;
  else
    for change in
      select n.id,
             case
               when n.status = 'queued' and o.status <> 'queued' then 'retry'
               when n.cancel_requested_at is not null and o.cancel_requested_at is null then 'cancel'
             end as op
      from new_rows n join old_rows o on o.id = n.id
    loop
      if change.op is not null then
        perform pg_notify('tandem_jobs', json_build_object('op', change.op, 'id', change.id)::text);
      end if;
    end loop;
  end if;
  return null;
end;
$$;
comment on function private.announce_job_changes() is
  'Trigger (per statement): job_updated events and tandem_jobs notifications.';
revoke all on function private.announce_job_changes() from public;

create trigger jobs_announce_insert
  after insert on public.jobs
  referencing new table as new_rows
  for each statement execute function private.announce_job_changes();

create trigger jobs_announce_update
  after update on public.jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.announce_job_changes();
