/**
 * The one UUID pattern: the textual form Postgres accepts for `uuid` and renders (in lower
 * case), in any letter case. Written with both cases rather than the `i` flag, because the
 * OpenAPI document renders a zod regex by its source alone (core/schemas.ts uses it).
 */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * True when `value` is a UUID in text form, so a query with it as `::uuid` cannot fail.
 *
 * @example
 * isUuid('8f14e45f-ea3c-4a4e-9d0a-5a3b8f1c2d3e') // true
 * isUuid('forged') // false
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}
