/**
 * Structured logging: one JSON object per line on stdout (stderr for errors), shared by
 * the edge functions (Deno) and the worker (Node).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function serializeError(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** A BigInt as text, so that a field holding one never makes the line throw. */
const bigIntAsText = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** The line for `entry`; a field JSON cannot hold (a cycle) is replaced by a note, never thrown. */
function serializeLine(entry: LogFields): string {
  try {
    return JSON.stringify(entry, bigIntAsText);
  } catch {
    const safe: LogFields = {};
    for (const [key, value] of Object.entries(entry)) {
      try {
        JSON.stringify(value, bigIntAsText);
        safe[key] = value;
      } catch {
        safe[key] = '[not serializable]';
      }
    }
    return JSON.stringify(safe, bigIntAsText);
  }
}

/**
 * Creates a JSON-lines logger. Lines below `level` are dropped; `write` defaults to
 * stdout (errors to stderr).
 *
 * @example
 * const log = createLogger({ service: 'worker' });
 * log.info('job_succeeded', { job_id: id, duration_ms: 12 });
 * // {"ts":"…","level":"info","msg":"job_succeeded","service":"worker","job_id":"…","duration_ms":12}
 */
export function createLogger(
  base: LogFields = {},
  options: { level?: LogLevel; write?: (line: string, level: LogLevel) => void } = {},
): Logger {
  const minimum = order[options.level ?? 'info'];
  const write =
    options.write ??
    ((line: string, level: LogLevel) => {
      if (level === 'error') globalThis.console.error(line);
      else globalThis.console.info(line);
    });
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (order[level] < minimum) return;
    const entry: LogFields = { ts: new Date().toISOString(), level, msg: message, ...base };
    for (const [key, value] of Object.entries(fields ?? {})) entry[key] = serializeError(value);
    write(serializeLine(entry), level);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, options),
  };
}
