/**
 * Logging of errors that repeat: while Redis (or anything) is down the same failure
 * recurs with every request, reconnection attempt or BullMQ poll. The first occurrence of
 * an event is logged at once; further ones within the interval are only counted, and the
 * next line after the interval carries `repeated` (how many were not logged). One line
 * per event per interval, never a line per occurrence.
 */
import type { LogFields, Logger } from './log.ts';

export interface RepeatedLog {
  /** Logs `event` now, or counts it when it was logged less than an interval ago. */
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /**
   * The condition behind `event` is over: logs `<event>_resolved` with the count of
   * occurrences not yet logged, if it had occurred at all.
   */
  resolved(event: string, fields?: LogFields): void;
}

/**
 * @example
 * const repeats = createRepeatedLog(log, 10_000);
 * redis.on('error', (error) => repeats.warn('redis_error', { error: error.message }));
 * redis.on('ready', () => repeats.resolved('redis_error'));
 */
export function createRepeatedLog(log: Logger, intervalMs = 10_000, now: () => number = Date.now): RepeatedLog {
  const seen = new Map<string, { loggedAt: number; suppressed: number }>();
  const emit = (level: 'warn' | 'error', event: string, fields: LogFields = {}) => {
    const entry = seen.get(event);
    const at = now();
    if (entry && at - entry.loggedAt < intervalMs) {
      entry.suppressed += 1;
      return;
    }
    log[level](event, entry ? { ...fields, repeated: entry.suppressed, interval_ms: intervalMs } : fields);
    seen.set(event, { loggedAt: at, suppressed: 0 });
  };
  return {
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    resolved(event, fields = {}) {
      const entry = seen.get(event);
      if (!entry) return;
      seen.delete(event);
      log.info(`${event}_resolved`, { ...fields, repeated: entry.suppressed });
    },
  };
}

/**
 * A logger whose warnings and errors go through a RepeatedLog (one line per message per
 * interval, with a count); debug and info lines pass as they are. For components whose
 * failures recur with every event while a dependency is away (the worker's dispatcher,
 * sweeper and invalidator).
 *
 * @example
 * const dispatcher = createDispatcher({ ...deps, log: withRepeatsFolded(log) });
 */
export function withRepeatsFolded(log: Logger, intervalMs = 10_000): Logger {
  const repeats = createRepeatedLog(log, intervalMs);
  return {
    debug: (message, fields) => log.debug(message, fields),
    info: (message, fields) => log.info(message, fields),
    warn: (message, fields) => repeats.warn(message, fields),
    error: (message, fields) => repeats.error(message, fields),
    child: (fields) => withRepeatsFolded(log.child(fields), intervalMs),
  };
}
