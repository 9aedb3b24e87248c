/**
 * Supabase Auth's (GoTrue's) error responses. GoTrue answers in two shapes, chosen by the
 * request's `X-Supabase-Api-Version` header: from `2024-01-01` on `{code: <error code>,
 * message}` (and it echoes the header, which is how auth-js knows `code` is the error
 * code); before, or without the header, `{code: <status>, error_code, msg}`. Both carry the
 * error code in an `x-sb-error-code` header. auth-js always sends `2024-01-01`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const API_VERSION_HEADER = 'X-Supabase-Api-Version';
const API_VERSION_2024 = '2024-01-01';

/** A GoTrue "HTTP error": a status, a machine-readable error code and a message. */
export class AuthApiFailure extends Error {
  override readonly name = 'AuthApiFailure';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    /** Extra top-level fields, e.g. `weak_password: {reasons}`. */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * GoTrue's OAuth-style error (`{error, error_description}`, always 400), used where GoTrue
 * follows RFC 6749, e.g. a refresh-token grant without a refresh token.
 */
export class OAuthFailure extends Error {
  override readonly name = 'OAuthFailure';
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * The API version a request asked for: `2024-01-01` for any valid date on or after it,
 * otherwise undefined (GoTrue's "initial" version).
 *
 * @example
 * requestedApiVersion('2025-06-30') // '2024-01-01'
 */
export function requestedApiVersion(header: string | string[] | undefined): typeof API_VERSION_2024 | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return undefined;
  return value >= API_VERSION_2024 ? API_VERSION_2024 : undefined;
}

/**
 * Writes `failure` the way GoTrue does for this request's API version.
 *
 * @example
 * writeFailure(req, res, new AuthApiFailure(400, 'invalid_credentials', 'Invalid login credentials'));
 */
export function writeFailure(req: IncomingMessage, res: ServerResponse, failure: AuthApiFailure | OAuthFailure): void {
  if (failure instanceof OAuthFailure) {
    writeJson(res, 400, { error: failure.error, error_description: failure.description });
    return;
  }
  const version = requestedApiVersion(req.headers[API_VERSION_HEADER.toLowerCase()]);
  const headers: Record<string, string> = { 'x-sb-error-code': failure.errorCode, ...failure.headers };
  if (version) {
    headers[API_VERSION_HEADER] = version;
    writeJson(res, failure.status, { code: failure.errorCode, message: failure.message, ...failure.extra }, headers);
  } else {
    writeJson(res, failure.status, { code: failure.status, error_code: failure.errorCode, msg: failure.message, ...failure.extra }, headers);
  }
}

/**
 * Writes a JSON response.
 *
 * @example
 * writeJson(res, 200, { status: 'ok' });
 */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
