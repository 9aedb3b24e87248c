/**
 * What a handler hands back — a result or a thrown value — made fit for Postgres before it
 * joins a batched status write (worker/src/lifecycle.ts), so that one job's odd value can
 * never fail the statement that carries its neighbours' writes.
 *
 * jsonb refuses what JSON.stringify happily writes: `\u0000` and unpaired surrogate
 * escapes; JSON.stringify itself throws on a BigInt or a cycle. `text` refuses NUL. A
 * thrown value may be anything: `null`, a symbol, an object without a prototype, an
 * object whose `toString` throws.
 */

/** The answer of `storableResult`: the JSON text to store, or why the value cannot be stored. */
export type StorableResult = { ok: true; json: string } | { ok: false; reason: string };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

class UnstorableValue extends Error {}

function checkText(text: string, where: string): void {
  if (text.includes('\u0000')) throw new UnstorableValue(`${where} contains a NUL character (\\u0000), which jsonb cannot hold`);
  if (LONE_SURROGATE.test(text)) throw new UnstorableValue(`${where} contains an unpaired UTF-16 surrogate, which jsonb cannot hold`);
}

/**
 * Serializes a handler's result for `jobs.result` (jsonb), or says why it cannot be
 * stored. `undefined` (and anything JSON drops at the top level, such as a function) is
 * stored as null.
 *
 * @example
 * storableResult({ rows: 3 })  // { ok: true, json: '{"rows":3}' }
 * storableResult({ n: 1n })    // { ok: false, reason: "the job's result cannot be stored: the result at \"n\" is a BigInt, …" }
 */
export function storableResult(value: unknown): StorableResult {
  try {
    const json = JSON.stringify(value, function replacer(this: unknown, key: string, current: unknown) {
      const where = key === '' ? 'the result' : `the result at ${JSON.stringify(key)}`;
      checkText(key, `a key of ${where}`);
      if (typeof current === 'bigint') throw new UnstorableValue(`${where} is a BigInt, which JSON cannot hold`);
      if (typeof current === 'string') checkText(current, where);
      return current;
    });
    return { ok: true, json: json ?? 'null' };
  } catch (error) {
    // JSON.stringify finds cycles itself (a TypeError naming the property that closes it).
    const reason =
      error instanceof UnstorableValue
        ? error.message
        : error instanceof TypeError && /circular/i.test(error.message)
          ? 'the result refers back to itself (a cycle), which JSON cannot hold'
          : `the result cannot be serialized as JSON (${errorText(error)})`;
    return { ok: false, reason: `the job's result cannot be stored: ${reason}` };
  }
}

/**
 * Text fit for a Postgres `text` column: NUL shown as `\0`, unpaired surrogates replaced
 * by U+FFFD.
 *
 * @example
 * storableText('bad\u0000byte') // 'bad\\0byte'
 */
export function storableText(text: string): string {
  const noNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\\0') : text;
  return noNul.replace(LONE_SURROGATES, '\uFFFD');
}

function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) {
    const message = typeof thrown.message === 'string' ? thrown.message : '';
    return message.trim() ? message : `${thrown.name || 'Error'} without a message`;
  }
  if (typeof thrown === 'string') return thrown.trim() ? thrown : 'the handler threw an empty string';
  if (thrown === null || thrown === undefined) return `the handler threw ${String(thrown)} instead of an Error`;
  if (typeof thrown === 'symbol') return `the handler threw a symbol (${thrown.description ?? ''}) instead of an Error`;
  if (typeof thrown !== 'object' && typeof thrown !== 'function') return `the handler threw ${typeof thrown} ${String(thrown)} instead of an Error`;
  const message = (thrown as { message?: unknown }).message;
  if (typeof message === 'string' && message.trim()) return message;
  try {
    const text = String(thrown);
    if (text && text !== '[object Object]') return `the handler threw a non-Error object: ${text}`;
  } catch {
    // An object without a prototype, or whose toString throws: say so below.
  }
  return 'the handler threw a non-Error object that has no message';
}

/**
 * The error message of anything a handler may throw, as text Postgres accepts. Never
 * throws, never empty.
 *
 * @example
 * errorText(new Error('timeout'))     // 'timeout'
 * errorText(null)                     // 'the handler threw null instead of an Error'
 * errorText(Object.create(null))      // 'the handler threw a non-Error object that has no message'
 */
export function errorText(thrown: unknown): string {
  let text: string;
  try {
    text = describeThrown(thrown);
  } catch {
    text = 'the handler threw a value that cannot be turned into text';
  }
  return storableText(text);
}
