-- =============================================================================
-- Demo data: three users (password "password123"), two projects, memberships.
-- Loaded by `supabase db reset` and by `npm run db:setup -- --seed`. Idempotent.
--   alice@example.com  owner of "Apollo", collaborator in "Borealis"
--   bob@example.com    collaborator in "Apollo", owner of "Borealis"
--   carol@example.com  viewer in "Apollo"
-- =============================================================================

-- GoTrue reads confirmation_token, recovery_token, email_change_token_new and email_change
-- into plain strings, and those four columns have no default: a NULL there makes every
-- sign-in of the user fail with a 500 (sql/platform/README.md). The seed writes '' as GoTrue does.
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        confirmation_token, recovery_token, email_change_token_new, email_change,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('password123', extensions.gen_salt('bf', 10)), now(),
       '', '', '', '',
       '{"provider": "email", "providers": ["email"]}'::jsonb,
       jsonb_build_object('display_name', u.display_name), now(), now()
from (values
  ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@example.com', 'Alice'),
  ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bob@example.com', 'Bob'),
  ('ca201000-0000-4000-8000-000000000003'::uuid, 'carol@example.com', 'Carol')
) as u (id, email, display_name)
on conflict (id) do nothing;

-- Supabase Auth signs users in through their email identity.
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true),
       'email', now(), now(), now()
from auth.users u
where u.email in ('alice@example.com', 'bob@example.com', 'carol@example.com')
on conflict (provider_id, provider) do nothing;

insert into public.projects (id, name, description, created_by)
values
  ('a0000000-0000-4000-8000-0000000000a1', 'Apollo', 'Launch plan and checklists', 'a11ce000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-0000000000b2', 'Borealis', 'Research notes', 'b0b00000-0000-4000-8000-000000000002')
on conflict (id) do nothing;

insert into public.project_members (project_id, user_id, role, invited_by)
values
  ('a0000000-0000-4000-8000-0000000000a1', 'b0b00000-0000-4000-8000-000000000002', 'collaborator', 'a11ce000-0000-4000-8000-000000000001'),
  ('a0000000-0000-4000-8000-0000000000a1', 'ca201000-0000-4000-8000-000000000003', 'viewer', 'a11ce000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-0000000000b2', 'a11ce000-0000-4000-8000-000000000001', 'collaborator', 'b0b00000-0000-4000-8000-000000000002')
on conflict (project_id, user_id) do nothing;
