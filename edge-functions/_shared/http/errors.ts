/**
 * The error contract of the edge functions: every failure is
 * `{"error": {"code", "message", "details"?}}` with one of the codes below (docs/functions.md).
 */
import type { Context } from 'hono';

/** Error codes and the HTTP status each one is sent with. */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export type ErrorStatus = (typeof errorStatus)[ErrorCode];

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * An error that becomes a response with the contract's shape. Throw it anywhere in a
 * handler or middleware; the app's error handler renders it.
 *
 * @example
 * throw new ApiError('not_found', 'project not found');
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: ErrorStatus;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers (e.g. Retry-After, Allow, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = errorStatus[code];
  }

  /** The response body. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

const codeForStatus = new Map<number, ErrorCode>([
  [400, 'invalid_request'],
  [401, 'unauthorized'],
  [403, 'forbidden'],
  [404, 'not_found'],
  [405, 'method_not_allowed'],
  [409, 'conflict'],
  [413, 'payload_too_large'],
  [415, 'unsupported_media_type'],
  [422, 'unprocessable'],
  [429, 'rate_limited'],
  [503, 'unavailable'],
]);

/**
 * The contract's code for an HTTP status raised by a library (hono's HTTPException):
 * 4xx statuses without a code of their own become `invalid_request`.
 *
 * @example
 * errorCodeForStatus(415) // 'unsupported_media_type'
 */
export function errorCodeForStatus(status: number): ErrorCode {
  return codeForStatus.get(status) ?? (status >= 400 && status < 500 ? 'invalid_request' : 'internal');
}

/**
 * The response for an error: its body, status and extra headers.
 *
 * @example
 * return errorResponse(c, new ApiError('not_found', 'project not found'));
 */
export function errorResponse(c: Context, error: ApiError): Response {
  return c.json(error.toBody() satisfies ErrorBody, error.status, error.headers);
}
