-- =============================================================================
-- Benchmark data at scale: 100k projects, 1M memberships, ~50k users.
-- Loaded by `npm run bench` into its own throwaway database, as the superuser, with
-- triggers off (session_replication_role = replica) so the load is a bulk insert, not
-- a million event notifications. Membership roles are spread owner/collaborator/viewer.
-- The benchmark user (psql variable / first user) gets exactly 100 projects.
-- =============================================================================

set session_replication_role = replica;

insert into auth.users (id, aud, role, email, created_at, updated_at)
select ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'authenticated', 'authenticated',
       'bench-' || n || '@bench.tandem.dev', now(), now()
from generate_series(1, 50000) as n;

insert into public.profiles (id, email, display_name)
select u.id, u.email, split_part(u.email, '@', 1) from auth.users u where u.email like 'bench-%';

insert into public.projects (id, name, created_by)
select ('00000000-0000-4000-9000-' || lpad(to_hex(n), 12, '0'))::uuid, 'Project ' || n,
       ('00000000-0000-4000-8000-' || lpad(to_hex(1 + (n % 50000)), 12, '0'))::uuid
from generate_series(1, 100000) as n;

-- 10 members per project: slot 0 is the owner (the creator), slots 1-9 are spread over
-- all users. User 1 (the benchmark user) is kept out of the random slots.
insert into public.project_members (project_id, user_id, role, created_at)
select ('00000000-0000-4000-9000-' || lpad(to_hex(p), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(
          case when slot = 0 then 1 + (p % 50000) else 2 + ((p * 7919 + slot * 104729) % 49999) end), 12, '0'))::uuid,
       (case when slot = 0 then 'owner' when slot % 3 = 0 then 'collaborator' else 'viewer' end)::public.project_role,
       now() - make_interval(secs => slot)
from generate_series(1, 100000) as p, generate_series(0, 9) as slot
where slot = 0 or (1 + (p % 50000)) <> 2 + ((p * 7919 + slot * 104729) % 49999)
on conflict do nothing;

-- The benchmark user owns projects 1 and 50001 (as creator); give them exactly 100.
insert into public.project_members (project_id, user_id, role)
select ('00000000-0000-4000-9000-' || lpad(to_hex(p), 12, '0'))::uuid,
       '00000000-0000-4000-8000-000000000001'::uuid, 'collaborator'
from generate_series(2, 99) as p
on conflict do nothing;

set session_replication_role = origin;
