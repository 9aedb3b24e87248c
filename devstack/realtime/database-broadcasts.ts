/**
 * Delivery of messages written by `realtime.send`: hosted Realtime reads committed
 * `realtime.messages` rows through logical replication; the local stand-in LISTENs on
 * `realtime_messages` (the bootstrap's trigger NOTIFYs only when the inserting transaction
 * commits — the same guarantee) and then reads the rows, in commit order. The LISTEN runs
 * on the worker's supervised session (re-established even after Postgres restarts); after
 * each re-LISTEN the rows committed meanwhile are read again, so none is skipped.
 */
import type postgres from 'postgres';
import type { Logger } from '../../core/log.ts';
import { listenSupervised } from '../../worker/src/listen.ts';

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

/**
 * The ids a `realtime_messages` notification names: `{"ids": [...]}` (one per statement,
 * as the bootstrap's trigger sends them) or `{"id": ...}` (one per row, as databases
 * bootstrapped before that sent them). Anything else names none.
 *
 * @example
 * notifiedIds('{"ids":["…","…"]}') // ['…', '…']
 */
export function notifiedIds(raw: string): string[] {
  const value = JSON.parse(raw) as { ids?: unknown; id?: unknown } | null;
  const ids = Array.isArray(value?.ids) ? value.ids : [value?.id];
  return ids.filter((id): id is string => typeof id === 'string');
}

const RECENT_IDS_KEPT = 20_000;

/**
 * Starts listening; `deliver` is called once per committed broadcast row, in commit order.
 * `sql` reads the rows; the LISTEN session connects to `url` as `applicationName`.
 *
 * @example
 * const listener = await listenForDatabaseMessages({ url, sql, log, applicationName: 'tandem-local-realtime' }, (message) => fanOut(message));
 * await listener.stop();
 */
export async function listenForDatabaseMessages(
  options: { url: string; sql: postgres.Sql; log: Logger; applicationName: string; checkIntervalMs?: number },
  deliver: (message: DatabaseMessage) => void,
): Promise<{ stop(): Promise<void> }> {
  const { sql, log } = options;
  const pending: string[] = [];
  const recentIds = new Set<string>();
  let lastInsertedAt: string | undefined;
  let draining: Promise<void> | undefined;
  let stopped = false;
  let needsCatchUp = false;

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

  // Rows committed while LISTEN was down go first, so delivery stays in commit order.
  const catchUpIfReconnected = async () => {
    if (needsCatchUp && !stopped) {
      needsCatchUp = false;
      await catchUp();
    }
  };

  const drain = async () => {
    await catchUpIfReconnected();
    while (pending.length && !stopped) {
      const batch = pending.splice(0, 500);
      try {
        const rows = await sql<{ id: string; topic: string; event: string | null; private: boolean | null; payload: string | null; inserted_at: string }[]>`
          select id, topic, event, private, payload::text as payload, to_char(inserted_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') as inserted_at
          from realtime.messages
          where extension = 'broadcast' and id = any(${batch}::uuid[])`;
        // postgres.js dispatches a notification that arrives with the re-LISTEN's reply
        // before it calls onListen, so the reconnect may be known only now: catch up
        // first (its rows include this batch's, which emit then skips as already sent).
        await catchUpIfReconnected();
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const id of batch) {
          const row = byId.get(id);
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
        if ((pending.length || needsCatchUp) && !stopped) schedule();
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

  const session = await listenSupervised({
    url: options.url,
    channel: 'realtime_messages',
    name: options.applicationName,
    probe: sql as postgres.Sql<Record<string, unknown>>,
    checkIntervalMs: options.checkIntervalMs ?? 5000,
    log,
    onNotify: (raw) => {
      try {
        const ids = notifiedIds(raw);
        if (ids.length === 0) return;
        pending.push(...ids);
        schedule();
      } catch {
        log.warn('database_broadcast_bad_notification', { payload: raw.slice(0, 200) });
      }
    },
    onListen: (reconnect) => {
      if (!reconnect) {
        // The catch-up window starts here until a row is delivered.
        void sql<{ now: string }[]>`select to_char(localtimestamp, 'YYYY-MM-DD"T"HH24:MI:SS.US') as now`
          .then(([row]) => {
            if (row && !lastInsertedAt) lastInsertedAt = row.now;
          })
          .catch(() => undefined);
        return;
      }
      needsCatchUp = true;
      schedule();
    },
  });

  return {
    async stop() {
      stopped = true;
      await session.stop();
      await draining;
    },
  };
}
