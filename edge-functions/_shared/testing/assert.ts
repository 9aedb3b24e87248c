/**
 * The Deno standard library's assertions for the functions' unit tests (`deno test`, run
 * by tests/functions/unit.test.ts), from the npm package `deno-std` (jsr:@std/assert,
 * which these machines cannot reach, in one npm package). It ships JavaScript without type
 * declarations, and the signatures Deno infers from it make every optional message
 * required (and its `expect` unusable), so the assertions are re-exported here with
 * @std/assert's own signatures.
 */
import { assert as stdAssert } from 'deno-std/assert/assert.js';
import { assertEquals as stdAssertEquals } from 'deno-std/assert/equals.js';
import { assertMatch as stdAssertMatch } from 'deno-std/assert/match.js';
import { assertObjectMatch as stdAssertObjectMatch } from 'deno-std/assert/object_match.js';

/**
 * Throws unless `expr` is truthy.
 *
 * @example
 * assert(response.headers.has('x-request-id'));
 */
export const assert: (expr: unknown, msg?: string) => asserts expr = stdAssert;

/**
 * Throws unless `actual` and `expected` are deeply equal.
 *
 * @example
 * assertEquals(response.status, 404);
 */
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void = stdAssertEquals;

/**
 * Throws unless `actual` matches `expected`.
 *
 * @example
 * assertMatch(body.error.message, /more than once/);
 */
export const assertMatch: (actual: string, expected: RegExp, msg?: string) => void = stdAssertMatch;

/**
 * Throws unless `actual` has (at least) the properties of `expected`, deeply.
 *
 * @example
 * assertObjectMatch(await response.json(), { error: { code: 'not_found' } });
 */
export const assertObjectMatch: (actual: Record<PropertyKey, any>, expected: Record<PropertyKey, unknown>, msg?: string) => void = stdAssertObjectMatch;
