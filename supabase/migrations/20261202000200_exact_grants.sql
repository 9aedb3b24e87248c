-- =============================================================================
-- Domain: privileges — exactly the role matrix, whatever the database's default privileges
--
-- The earlier migrations granted what each role needs but never revoked what a database's
-- default privileges had already granted. `supabase start`, self-hosted Supabase and older
-- hosted projects have default privileges in schema public, for objects created by
-- `postgres` and by `supabase_admin`, that grant ALL on every new table, sequence and
-- function to anon, authenticated and service_role (see
-- sql/platform/default-privileges/supabase.sql). There, on top of the column grants, every
-- role held every table privilege: an owner could rewrite project_members.user_id, a
-- collaborator projects.created_by, anyone their profile's email; anon held everything.
--
-- This migration revokes every privilege of public, anon, authenticated and service_role
-- on each object Tandem owns in `public` (five tables; no views or sequences) and on every
-- function in `public` and `private`, then grants exactly:
--   authenticated  the role matrix (README.md), at table and column level; RLS narrows rows
--   service_role   select, insert, update, delete on the tables (the service side writes
--                  them directly); never truncate, references or trigger
--   anon           nothing
--   functions      execute on the RPCs to authenticated and service_role (service_role gets
--                  the RPCs' own "sign in" / not-found errors); execute on the helpers that
--                  policies call to authenticated; nothing else (trigger functions and the
--                  helpers of security-definer functions need no grant)
-- It never alters default privileges: those belong to the host project.
-- Every migration from now on ends each object it creates with the same revoke-then-grant;
-- supabase/tests/013-privileges.sql fails on any grant beyond this list.
-- =============================================================================

-- Grants lock the objects' catalog rows until commit; give up rather than queue behind long
-- transactions (the CLI runs each migration file as one transaction: `set local` lasts it).
set local lock_timeout = '5s';

-- Section: tables

revoke all on table public.profiles, public.projects, public.project_members, public.project_invitations, public.jobs
  from public, anon, authenticated, service_role;

grant select on public.profiles to authenticated;
grant update (display_name, avatar_url) on public.profiles to authenticated;

grant select, delete on public.projects to authenticated;
grant insert (id, name, description), update (name, description) on public.projects to authenticated;

grant select, delete on public.project_members to authenticated;
grant update (role) on public.project_members to authenticated;

grant select (id, project_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at)
  on public.project_invitations to authenticated;

grant select on public.jobs to authenticated;
grant insert (project_id, type, payload, idempotency_key) on public.jobs to authenticated;

grant select, insert, update, delete
  on public.profiles, public.projects, public.project_members, public.project_invitations, public.jobs
  to service_role;

-- Section: RPCs in public

revoke all on function
  public.create_invitation(uuid, text, public.project_role),
  public.accept_invitation(text),
  public.revoke_invitation(uuid),
  public.my_invitations(),
  public.cancel_job(uuid),
  public.retry_job(uuid)
  from public, anon, authenticated, service_role;
grant execute on function
  public.create_invitation(uuid, text, public.project_role),
  public.accept_invitation(text),
  public.revoke_invitation(uuid),
  public.my_invitations(),
  public.cancel_job(uuid),
  public.retry_job(uuid)
  to authenticated, service_role;

-- Section: helpers in private

revoke all on function
  private.touch_updated_at(),
  private.create_profile_for_user(),
  private.sync_profile_email(),
  private.my_project_ids(public.project_role[]),
  private.my_role_in(uuid),
  private.my_co_member_ids(),
  private.project_exists(uuid),
  private.pin_created_by(),
  private.add_creator_as_owner(),
  private.keep_last_owner(),
  private.hand_over_orphaned_project(),
  private.invitation_token_hash(text),
  private.guard_job_transition(),
  private.job_for_action(uuid, text),
  private.my_role_in_topic(),
  private.project_topic(uuid),
  private.notify_listing_changed(uuid[]),
  private.announce_membership_changes(),
  private.announce_project_change(),
  private.announce_job_changes()
  from public, anon, authenticated, service_role;
-- Called by RLS policies, so as the querying user (service_role bypasses RLS).
grant execute on function
  private.my_project_ids(public.project_role[]),
  private.my_co_member_ids(),
  private.my_role_in_topic(),
  private.project_exists(uuid)
  to authenticated;
