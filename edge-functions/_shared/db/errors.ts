/**
 * Turns Postgres errors into the HTTP contract's errors. The migrations raise PostgREST's
 * SQLSTATEs (PT404, PT409, PT429) and the standard ones (42501 permission, 22023 invalid
 * argument, P0001 business rules); connection failures mean the database is unavailable.
 */
import { ApiError } from '../http/errors.ts';
import { isConnectionError } from '../../../core/db/connection-errors.ts';

/** SQLSTATEs that mean "the database cannot serve us right now" though the connection holds. */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '40001', '40P01']);

const LAST_OWNER = 'a project must keep at least one owner';

interface PostgresLikeError {
  code?: unknown;
  message?: unknown;
  constraint_name?: unknown;
  hint?: unknown;
  severity?: unknown;
}

/**
 * True when `error` says the database could not be reached or dropped the connection.
 *
 * @example
 * if (isDatabaseUnavailable(error)) throw new ApiError('unavailable', 'the database is unavailable');
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as PostgresLikeError | null)?.code;
  return isConnectionError(error) || (typeof code === 'string' && UNAVAILABLE_SQLSTATES.has(code));
}

/**
 * The API error for a Postgres error, or undefined when it is not one we expect (a bug:
 * the caller lets it become a logged 500).
 *
 * @example
 * try { ... } catch (error) { throw apiErrorFromDatabase(error) ?? error; }
 */
export function apiErrorFromDatabase(error: unknown): ApiError | undefined {
  if (isDatabaseUnavailable(error)) return new ApiError('unavailable', 'the database is unavailable, try again shortly');
  const { code, message, constraint_name: constraint, hint } = (error ?? {}) as PostgresLikeError;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const details = typeof hint === 'string' && hint ? { hint } : undefined;
  switch (code) {
    case 'PT404':
      return new ApiError('not_found', message);
    case 'PT409':
      return new ApiError('conflict', message);
    case 'PT429':
      // The invitation limits count per hour (supabase/migrations/20261202002200_invitation_limits.sql).
      return new ApiError('rate_limited', message, undefined, { 'Retry-After': '60' });
    case '42501':
      return new ApiError('forbidden', message.startsWith('new row violates row-level security') ? 'you may not do this in this project' : message);
    case 'P0001':
      return new ApiError('conflict', message === LAST_OWNER ? LAST_OWNER : message, details);
    case '22023':
    case '22P02':
    case '22P05':
    case '22021':
    case '22007':
    case '22008':
    case '22003':
      return new ApiError('invalid_request', message);
    case '22001':
    case '23514':
    case '23502':
    case '54000':
      if (constraint === 'jobs_payload_check') return new ApiError('payload_too_large', 'the job payload is larger than 64 KiB');
      return new ApiError('unprocessable', message, constraint ? { constraint } : undefined);
    case '23505':
      return new ApiError('conflict', message, constraint ? { constraint } : undefined);
    case '23503':
      return new ApiError('not_found', 'a referenced row does not exist');
    default:
      return undefined;
  }
}
