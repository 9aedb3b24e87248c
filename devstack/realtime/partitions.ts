/**
 * Maintenance of `realtime.messages`' daily partitions, as Supabase Realtime's janitor does
 * it: partitions from yesterday to today + 3 (UTC dates), named `messages_YYYY_MM_DD`,
 * created by the connection's role (supabase_admin, as Supabase Realtime connects) and then
 * handed to supabase_realtime_admin; partitions older than 72 hours are dropped
 * (sql/platform/README.md).
 */
import type postgres from 'postgres';
import type { Logger } from '../../core/log.ts';

function utcDate(offsetDays: number, from = new Date()): string {
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() + offsetDays));
  return day.toISOString().slice(0, 10);
}

/**
 * Drops expired partitions, then creates the missing ones. Failures are logged, never
 * thrown: Realtime keeps serving (a missing partition surfaces as MissingPartition).
 *
 * @example
 * await maintainPartitions(sql, log); // { created: ['messages_2026_11_28'], dropped: ['messages_2026_11_20'] }
 */
export async function maintainPartitions(
  sql: postgres.Sql,
  log: Logger,
  now = new Date(),
): Promise<{ created: string[]; dropped: string[] }> {
  const created: string[] = [];
  const dropped: string[] = [];
  // Upstream: the cut-off is the date of (now - 72 h); partitions of earlier dates go.
  const cutoff = new Date(now.getTime() - 72 * 3600_000).toISOString().slice(0, 10);
  try {
    const existing = await sql<{ relname: string }[]>`
      select child.relname
      from pg_inherits
      join pg_class parent on pg_inherits.inhparent = parent.oid
      join pg_class child on pg_inherits.inhrelid = child.oid
      join pg_namespace nsp on nsp.oid = child.relnamespace
      where parent.relname = 'messages' and nsp.nspname = 'realtime'`;
    for (const { relname } of existing) {
      const match = /^messages_(\d{4})_(\d{2})_(\d{2})$/.exec(relname);
      if (!match) continue;
      if (`${match[1]}-${match[2]}-${match[3]}` < cutoff) {
        await sql.unsafe(`drop table if exists realtime.${relname}`);
        dropped.push(relname);
      }
    }
  } catch (error) {
    log.error('partition_cleanup_failed', { error });
  }
  for (let offset = -1; offset <= 3; offset++) {
    const from = utcDate(offset, now);
    const to = utcDate(offset + 1, now);
    const name = `messages_${from.replaceAll('-', '_')}`;
    try {
      const [row] = await sql<{ exists: boolean }[]>`select to_regclass(${`realtime.${name}`}) is not null as exists`;
      if (row?.exists) continue;
      await sql.begin(async (tx) => {
        await tx.unsafe(`create table if not exists realtime.${name} partition of realtime.messages for values from ('${from}') to ('${to}')`);
        await tx.unsafe(`alter table realtime.${name} owner to supabase_realtime_admin`);
      });
      created.push(name);
    } catch (error) {
      log.error('partition_creation_failed', { partition: name, error });
    }
  }
  if (created.length || dropped.length) log.info('partitions_maintained', { created, dropped });
  return { created, dropped };
}
