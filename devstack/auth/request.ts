/**
 * Reading GoTrue request bodies: one JSON object, at most 1 MiB and 1,000 levels deep, with
 * GoTrue's answers to bodies it cannot read.
 */
import type { IncomingMessage } from 'node:http';
import { AuthApiFailure } from './errors.ts';

const MAX_BODY_BYTES = 1 << 20;
export const MAX_PASSWORD_BYTES = 72; // bcrypt's limit
// The HTML5 email grammar, which GoTrue's email check (checkmail) also uses.
export const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * Nesting a request body may have. GoTrue's JSON decoder (Go's encoding/json) stops at
 * 10,000 levels; local Auth stops at 1,000 because it cannot sign deeper claims (jose
 * copies them with structuredClone, which overflows its stack near 2,000 levels of
 * `user_metadata`). Same answer as GoTrue's past its limit, at a lower depth — see
 * docs/local-auth.md.
 */
const MAX_JSON_DEPTH = 1000;

/** The bracket that opens the first container nested deeper than `max`, if any (iterative: no recursion on hostile input). */
function tooDeepAt(value: unknown, max: number): '{' | '[' | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return Array.isArray(current) ? '[' : '{';
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, depth + 1]);
  }
  return undefined;
}


export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new AuthApiFailure(413, 'request_entity_too_large', `Request body too large (max ${MAX_BODY_BYTES} bytes)`);
    }
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new AuthApiFailure(400, 'bad_json', `Could not parse request body as JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthApiFailure(400, 'bad_json', 'Could not parse request body as JSON: the body must be a JSON object');
  }
  // Refused before anything is read from it, let alone written: GoTrue's wording for a
  // body past its decoder's depth (Go's encoding/json: "invalid character '{' exceeded max depth").
  const deep = tooDeepAt(value, MAX_JSON_DEPTH);
  if (deep) throw new AuthApiFailure(400, 'bad_json', `Could not parse request body as JSON: invalid character '${deep}' exceeded max depth`);
  return value as Record<string, unknown>;
}

/** A string field; absent or null is ''. */
export function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new AuthApiFailure(400, 'bad_json', `Could not parse request body as JSON: "${name}" must be a string`);
  return value;
}

export function objectField(body: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = body[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthApiFailure(400, 'bad_json', `Could not parse request body as JSON: "${name}" must be an object`);
  }
  return value as Record<string, unknown>;
}

