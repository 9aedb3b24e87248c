/**
 * zod schemas shared by both functions' routes; they validate requests and generate the
 * OpenAPI document. (Ids and timestamps are core's: core/schemas.ts.)
 */
import { z } from '@hono/zod-openapi';
import { errorStatus, type ErrorCode } from './errors.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text Postgres can store: no NUL characters and no unpaired surrogates.
 *
 * @example
 * const Name = storableText().trim().min(1).max(200);
 */
export function storableText() {
  return z
    .string()
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
    .refine((value) => !LONE_SURROGATE.test(value), 'must be valid Unicode');
}

/** The error body of every failure. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

/**
 * A list response: `{data, next_cursor}`.
 *
 * @example
 * const ProjectList = listOf(ProjectListItem, 'ProjectList');
 */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);
}

/**
 * A JSON request or response body for a route definition.
 *
 * @example
 * request: { body: jsonBody(CreateProject, 'The new project') }
 */
export function jsonBody<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description, required: true as const };
}

/**
 * A JSON response for a route definition.
 *
 * @example
 * responses: { 200: jsonResponse(Project, 'The project'), ...errorResponses(404) }
 */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

const errorDescriptions: Record<number, string> = {
  400: 'Invalid request (malformed JSON, failed validation, broken URL encoding)',
  401: 'Missing or invalid access token',
  403: 'The caller may see the resource but not do this',
  404: 'Not found, or not visible to the caller',
  409: 'Conflict with the current state',
  413: 'Body over 256 KiB (or job payload over 64 KiB)',
  415: 'Body is not application/json',
  422: 'Valid JSON the database refuses',
  429: 'Rate limited; see Retry-After',
  503: 'Postgres unavailable',
};

/**
 * Error responses for a route definition, documented with the shared error schema.
 *
 * @example
 * responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) }
 */
export function errorResponses(...statuses: number[]) {
  const responses: Record<number, { content: { 'application/json': { schema: typeof ErrorSchema } }; description: string }> = {};
  for (const status of [...new Set([400, 401, 429, 503, ...statuses])]) {
    responses[status] = jsonResponse(ErrorSchema, errorDescriptions[status] ?? 'Error');
  }
  return responses;
}

/** The security requirement of routes that need a user's access token. */
export const bearerSecurity = [{ bearerAuth: [] }];
