/**
 * The routes' validation hook (OpenAPIHono's `defaultHook`): zod failures of params,
 * query, headers and bodies become 400s that say what was wrong where.
 */
import type { Context } from 'hono';
import { ApiError, errorResponse } from './errors.ts';

/** The part of a zod-openapi validation result the hook reads. */
export type ValidationResult =
  | { success: true }
  | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[] } };

/**
 * A 400 `invalid_request` naming the first issue, with up to 20 issues in `details`, or
 * undefined (the request goes on) when validation passed.
 *
 * @example
 * new OpenAPIHono({ defaultHook: validationHook });
 */
export function validationHook(result: ValidationResult, c: Context): Response | undefined {
  if (result.success) return undefined;
  const issues = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    ...(issue.code ? { code: issue.code } : {}),
  }));
  const first = issues[0];
  const message = first ? `invalid request${first.path ? ` at ${first.path}` : ''}: ${first.message}` : 'invalid request';
  return errorResponse(c, new ApiError('invalid_request', message, { issues }));
}
