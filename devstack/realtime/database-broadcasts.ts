/**
 * Delivery of messages written by `realtime.send`: hosted Realtime reads committed
 * `realtime.messages` rows through logical replication; the local stand-in LISTENs on
 * `realtime_messages` (the bootstrap's trigger NOTIFYs only when the inserting transaction
 * commits — the same guarantee) and then reads the rows, in commit order. After a lost
 * LISTEN connection it re-reads the rows committed meanwhile, so none is skipped.
 */
import type postgres from 'postgres';
import type { Logger } from '../../edge-functions/_shared/log.ts';

/** A committed broadcast row, as delivered to subscribers. */
export interface DatabaseMessage {
  id: string;
  topic: string;
  event: string;
  private: boolean;
  /** The row's payload as JSON text. */
  payloadJson: string;
  insertedAt: string;
}

interface Notification {
  id: string;
  inserted_at: string;
}

const RECENT_IDS_KEPT = 20_000;

/**
 * Starts listening; `deliver` is called once per committed broadcast row, in commit order.
 *
 * @example
 * const listener = await listenForDatabaseMessages(sql, log, (message) => fanOut(message));
 * await listener.stop();
 */
export async function listenForDatabaseMessages(
  sql: postgres.Sql,
  log: Logger,
  deliver: (message: DatabaseMessage) => void,
): Promise<{ stop(): Promise<void> }> {
  const pending: Notification[] = [];
  const recentIds = new Set<string>();
  let lastInsertedAt: string | undefined;
  let draining: Promise<void> | undefined;
  let listens = 0;
  let stopped = false;

  const remember = (id: string) => {
    recentIds.add(id);
    if (recentIds.size > RECENT_IDS_KEPT) {
      const oldest = recentIds.values().next().value;
      if (oldest !== undefined) recentIds.delete(oldest);
    }
  };

  const emit = (row: { id: string; topic: string; event: string | null; private: boolean | null; payload: string | null; inserted_at: string }) => {
    if (recentIds.has(row.id)) return;
    remember(row.id);
    if (!lastInsertedAt || row.inserted_at > lastInsertedAt) lastInsertedAt = row.inserted_at;
    if (row.event === null) return; // upstream: a row without an event is not broadcast
    try {
      deliver({ id: row.id, topic: row.topic, event: row.event, private: row.private ?? false, payloadJson: row.payload ?? '{}', insertedAt: row.inserted_at });
    } catch (error) {
      log.error('database_broadcast_failed', { id: row.id, error });
    }
  };

  const drain = async () => {
    while (pending.length && !stopped) {
      const batch = pending.splice(0, 500);
      try {
        const rows = await sql<{ id: string; topic: string; event: string | null; private: boolean | null; payload: string | null; inserted_at: string }[]>`
          select id, topic, event, private, payload::text as payload, to_char(inserted_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') as inserted_at
          from realtime.messages
          where extension = 'broadcast' and id = any(${batch.map((n) => n.id)}::uuid[])`;
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const notification of batch) {
          const row = byId.get(notification.id);
          if (row) emit(row);
        }
      } catch (error) {
        log.error('database_broadcast_read_failed', { count: batch.length, error });
      }
    }
  };

  const schedule = () => {
    if (!draining) {
      draining = drain().finally(() => {
        draining = undefined;
        if (pending.length && !stopped) schedule();
      });
    }
  };

  const catchUp = async () => {
    if (!lastInsertedAt) return;
    try {
      const rows = await sql<{ id: string; topic: string; event: string | null; private: boolean | null; payload: string | null; inserted_at: string }[]>`
        select id, topic, event, private, payload::text as payload, to_char(inserted_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') as inserted_at
        from realtime.messages
        where extension = 'broadcast' and inserted_at >= ${lastInsertedAt}::timestamp - interval '5 seconds'
        order by inserted_at, id`;
      for (const row of rows) emit(row);
      log.info('database_broadcasts_caught_up', { rows: rows.length });
    } catch (error) {
      log.error('database_broadcast_catch_up_failed', { error });
    }
  };

  const subscription = await sql.listen(
    'realtime_messages',
    (raw) => {
      try {
        const notification = JSON.parse(raw) as Notification;
        if (typeof notification.id !== 'string') return;
        pending.push(notification);
        schedule();
      } catch {
        log.warn('database_broadcast_bad_notification', { payload: raw.slice(0, 200) });
      }
    },
    () => {
      listens += 1;
      if (listens > 1) void catchUp();
    },
  );

  return {
    async stop() {
      stopped = true;
      await subscription.unlisten().catch(() => undefined);
      await draining;
    },
  };
}
