/**
 * A supervised `LISTEN` on a dedicated session connection.
 *
 * postgres.js re-listens by itself when its listen connection closes, but if Postgres is
 * still unreachable at that moment the re-listen fails and is not tried again. So every
 * `checkIntervalMs` the session's connection is looked up in `pg_stat_activity` (by a
 * unique `application_name`); when it has been missing twice in a row the session is
 * rebuilt. `onListen` runs after every successful LISTEN — the first and each reconnect —
 * which is where callers catch up on what they may have missed.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { reconnectBackoff } from '../../core/db/reconnect.ts';
import type { Logger } from '../../core/log.ts';
import type { Sql } from './db.ts';

export interface ListenSession {
  /** The session's `application_name` (unique per session). */
  readonly applicationName: string;
  /** Whether a LISTEN is currently established (as far as the last check knows). */
  listening(): boolean;
  stop(): Promise<void>;
}

export interface ListenOptions {
  url: string;
  channel: string;
  /** Prefix of the session's application_name (a random suffix is added). */
  name: string;
  onNotify: (payload: string) => void;
  /** After each successful LISTEN (first and reconnects); `reconnect` is false the first time. */
  onListen: (reconnect: boolean) => void;
  /** The pool used to check on the session. */
  probe: Sql;
  checkIntervalMs: number;
  log: Logger;
}

/**
 * Starts listening; resolves once the first LISTEN is established (or keeps trying in the
 * background when Postgres is down at start).
 *
 * @example
 * const session = await listenSupervised({ url, channel: 'tandem_jobs', name: 'tandem-worker',
 *   onNotify: (payload) => handle(JSON.parse(payload)), onListen: () => sweepSoon(),
 *   probe: sql, checkIntervalMs: 5000, log });
 */
export async function listenSupervised(options: ListenOptions): Promise<ListenSession> {
  const applicationName = `${options.name}:${options.channel}:${randomBytes(2).toString('hex')}`.slice(0, 63);
  const log = options.log.child({ channel: options.channel });
  let connection: postgres.Sql<Record<string, unknown>> | undefined;
  let established = false;
  let everListened = false;
  let stopped = false;
  let misses = 0;
  let connecting: Promise<void> | undefined;
  let checking = false;

  const connect = async () => {
    const previous = connection;
    connection = undefined;
    established = false;
    await previous?.end({ timeout: 0 }).catch(() => undefined);
    if (stopped) return;
    const sql = postgres(options.url, {
      max: 1,
      onnotice: () => undefined,
      connect_timeout: 5,
      backoff: reconnectBackoff,
      connection: { application_name: applicationName },
    });
    connection = sql;
    try {
      await sql.listen(options.channel, options.onNotify, () => {
        if (stopped || connection !== sql) return;
        established = true;
        misses = 0;
        const reconnect = everListened;
        everListened = true;
        log.info(reconnect ? 'listen_reestablished' : 'listen_established', { application_name: applicationName });
        options.onListen(reconnect);
      });
    } catch (error) {
      log.warn('listen_failed', { error });
    }
  };

  const reconnect = () => {
    connecting ??= connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const check = async () => {
    if (stopped || connecting || checking) return;
    checking = true;
    try {
      const [row] = await options.probe<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = ${applicationName}`;
      if ((row?.n ?? 0) > 0) {
        misses = 0;
        return;
      }
      established = false;
      misses += 1;
      if (misses >= 2 || !everListened) {
        log.warn('listen_connection_lost', { application_name: applicationName });
        await reconnect();
      }
    } catch {
      // Postgres is unreachable: the next check tries again.
      established = false;
    } finally {
      checking = false;
    }
  };

  await reconnect();
  const timer = setInterval(() => void check(), options.checkIntervalMs);
  timer.unref();

  return {
    applicationName,
    listening: () => established,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await connecting?.catch(() => undefined);
      await connection?.end({ timeout: 1 }).catch(() => undefined);
    },
  };
}
