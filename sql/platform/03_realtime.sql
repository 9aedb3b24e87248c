-- =============================================================================
-- Platform bootstrap, part 3: the realtime schema (Supabase Realtime's database side)
--
-- As Supabase Realtime's tenant migrations leave it. Realtime runs them connected as
-- supabase_admin (the CLI's DB_USER), so objects are created as supabase_admin — its
-- default privileges in schema realtime (part 1) grant them to postgres — and then handed
-- to supabase_realtime_admin. `realtime.messages` is partitioned by day on `inserted_at`;
-- RLS on it authorizes private channels. `realtime.topic()`, `realtime.send()` and
-- `realtime.broadcast_changes()` follow Realtime's definitions.
-- =============================================================================

-- Section: messages table

create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,
  primary key (id, inserted_at)
) partition by range (inserted_at);
comment on table realtime.messages is
  'Realtime broadcast and presence messages; RLS on this table authorizes private channels.';
-- A database bootstrapped by an earlier Tandem lacks binary_payload (devstack/db/setup.ts).
alter table realtime.messages add column if not exists binary_payload bytea;
alter table realtime.messages enable row level security;
alter table realtime.messages owner to supabase_realtime_admin;

do $constraints$
begin
  -- A message carries a JSON payload or a binary one, never both (NOT VALID, as upstream).
  if not exists (select 1 from pg_constraint where conname = 'messages_payload_exclusive'
                 and conrelid = 'realtime.messages'::regclass) then
    alter table realtime.messages add constraint messages_payload_exclusive
      check (payload is null or binary_payload is null) not valid;
  end if;
end
$constraints$;

-- Replay of private broadcasts reads the newest messages of a topic.
create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;

-- Daily partitions from yesterday to today + 3 (UTC), named and owned as Supabase Realtime
-- creates them at connect time and from its janitor; the devstack's local Realtime keeps
-- creating them the same way (devstack/realtime/partitions.ts).
do $partitions$
declare
  day date;
  name text;
begin
  for day in select generate_series((now() at time zone 'utc')::date - 1, (now() at time zone 'utc')::date + 3, interval '1 day')::date loop
    name := 'messages_' || to_char(day, 'YYYY_MM_DD');
    execute format('create table if not exists realtime.%I partition of realtime.messages for values from (%L) to (%L)',
                   name, day, day + 1);
    execute format('alter table realtime.%I owner to supabase_realtime_admin', name);
  end loop;
end
$partitions$;

-- Section: functions

create or replace function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text;
$$;
comment on function realtime.topic() is 'The sub-topic of the channel being authorized (e.g. project:<uuid>).';

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  generated_id uuid := gen_random_uuid();
  final_payload jsonb;
begin
  begin
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$$;
comment on function realtime.send(jsonb, text, text, boolean) is
  'Broadcasts a message on a topic; delivered to subscribers once the transaction commits.';

create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation in ('INSERT', 'UPDATE', 'DELETE') then
    row_data := jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                                   'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception
  when others then
    raise exception 'Failed to process the row: %', sqlerrm;
end;
$$;
comment on function realtime.broadcast_changes(text, text, text, text, text, record, record, text) is
  'Broadcasts a row change (record, old_record, operation) on a topic from a trigger.';

-- Section: delivery hook for the devstack's local Realtime
-- Hosted Realtime reads committed rows through logical replication. The local stand-in
-- LISTENs instead: NOTIFY is delivered only when the inserting transaction commits, which
-- is the same guarantee. This trigger exists only in bootstrapped (non-Supabase) databases.

create or replace function realtime.notify_local_realtime() returns trigger
language plpgsql
as $$
declare
  ids uuid[];
  chunk_start integer := 1;
  -- 150 ids are ~6 kB of JSON, under NOTIFY's 8 kB payload limit.
  chunk_size constant integer := 150;
begin
  select array_agg(n.id order by n.inserted_at, n.id) into ids from new_rows n where n.extension = 'broadcast';
  while chunk_start <= coalesce(cardinality(ids), 0) loop
    perform pg_notify('realtime_messages', json_build_object('ids', ids[chunk_start : chunk_start + chunk_size - 1])::text);
    chunk_start := chunk_start + chunk_size;
  end loop;
  return null;
end;
$$;
comment on function realtime.notify_local_realtime() is
  'Devstack only: tells the local Realtime server which message rows a statement committed.';

-- One NOTIFY per statement (not per row): a trigger that announces a batch of job
-- updates in one insert costs one notification.
drop trigger if exists notify_local_realtime on realtime.messages;
create trigger notify_local_realtime
  after insert on realtime.messages
  referencing new table as new_rows
  for each statement
  execute function realtime.notify_local_realtime();

-- Section: owners and grants (as Realtime's migrations give them)

alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text) owner to supabase_realtime_admin;
alter function realtime.notify_local_realtime() owner to supabase_realtime_admin;

-- No DELETE for anyone but postgres (which has ALL through the default privileges).
grant select, insert, update on realtime.messages to postgres, anon, authenticated, service_role;
