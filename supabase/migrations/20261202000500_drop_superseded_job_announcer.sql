-- =============================================================================
-- Domain: jobs — the superseded per-row job announcer is gone
--
-- Migration 20261125000500_realtime_and_events.sql announced job changes per row
-- (private.announce_job_change, trigger jobs_announce_change on public.jobs).
-- 20261125000600_jobs_write_path.sql replaced both with the per-statement
-- private.announce_job_changes and dropped them, so on a database migrated in order
-- nothing of them is left and this migration changes nothing. It makes their absence a
-- stated part of the schema (supabase/tests/001-schema.sql checks it) and removes them
-- from any database that still has them: a row announced by both would send every
-- job_updated event and tandem_jobs notification twice.
--
-- The old partial index of the same migration chain (jobs_unfinished_idx on
-- (status, created_at)) was rebuilt under its name by 20261125000600; nothing of it
-- remains to drop.
-- =============================================================================

drop trigger if exists jobs_announce_change on public.jobs;
drop function if exists private.announce_job_change();
