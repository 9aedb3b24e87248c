/**
 * Which errors mean "the connection to Postgres is gone (or could not be made)", as
 * opposed to "the statement was refused". Shared by the functions (503 instead of 500,
 * withRls not reusing a lost connection) and the worker (retrying status writes).
 */

/** postgres.js, socket and SQLSTATE codes of a connection that was lost or never made. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '53300', // too_many_connections
]);

/**
 * True when an error means "the connection is gone", not "the statement is wrong".
 *
 * @example
 * isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })) // true
 */
export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = String((error as { code?: unknown }).code ?? '');
  return CONNECTION_ERROR_CODES.has(code) || code.startsWith('08');
}
