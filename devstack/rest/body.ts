/**
 * Request bodies of the local Data API: read from the Node request with a size limit, and
 * turned into PostgREST's payload (upstream PostgREST src/library/PostgREST/ApiRequest/Payload.hs):
 * the JSON text Postgres will read and the set of keys that become the written columns.
 */
import type { IncomingMessage } from 'node:http';
import { invalidBody, payloadTooLarge } from './errors.ts';

/** What the local gateway takes in one request body (PostgREST itself has no limit). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * The deepest JSON nesting taken. Stricter than PostgREST, which hands any body to Postgres,
 * whose recursive JSON parser then fails with 54001 (stack depth), a 500; here it is a 400.
 */
export const MAX_JSON_DEPTH = 512;

/** Refuses JSON text nested deeper than MAX_JSON_DEPTH (brackets inside strings do not count). */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw invalidBody(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
}

/**
 * Reads a Node request's body; a PgrstError 413 beyond `limit` bytes (the rest is drained).
 *
 * @example
 * const body = await readBody(req); // Buffer
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  if (tooLarge) throw payloadTooLarge(limit);
  return Buffer.concat(chunks);
}

export interface Payload {
  /** JSON text handed to Postgres as one parameter. */
  json: string;
  /** The keys of its objects (or the `columns=` list), sorted as PostgREST's Set is. */
  keys: string[];
  /** Whether the body is one object (json_to_record) rather than an array (json_to_recordset). */
  isObject: boolean;
}

const sortKeys = (keys: Iterable<string>) => [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** payloadAttributes: an array must hold objects with one set of keys; other scalars become []. */
function attributes(value: unknown, json: string): Payload {
  if (Array.isArray(value)) {
    if (value.length === 0) return { json: '[]', keys: [], isObject: false };
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    const head = value[0];
    if (!isObj(head)) throw invalidBody('All object keys must match');
    const keys = sortKeys(Object.keys(head));
    const same = value.every((v) => isObj(v) && sortKeys(Object.keys(v)).join('\0') === keys.join('\0') && Object.keys(v).length === keys.length);
    if (!same) throw invalidBody('All object keys must match');
    return { json, keys, isObject: false };
  }
  if (typeof value === 'object' && value !== null) return { json, keys: sortKeys(Object.keys(value)), isObject: true };
  return { json: '[]', keys: [], isObject: false };
}

/** RFC 4180 CSV (quotes, doubled quotes, CRLF or LF) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw invalidBody('parse error (endOfInput)');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

/**
 * PostgREST's payload of a POST, PATCH or PUT body. With `columns` (the `columns=` query
 * parameter) a JSON body goes to Postgres unread, as PostgREST's RawJSON does, and the
 * columns are exactly that list.
 *
 * @example
 * parsePayload(Buffer.from('[{"id":1},{"id":2}]'), 'application/json', undefined); // { keys: ['id'], isObject: false, ... }
 */
export function parsePayload(body: Buffer, contentType: string | undefined, columns: string[] | undefined): Payload {
  const media = mediaTypeOf(contentType);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    // Aeson, which decodes PostgREST's JSON bodies, takes only UTF-8.
    throw invalidBody('Empty or invalid json');
  }
  if (media === 'application/json') {
    checkDepth(text);
    if (columns !== undefined) return { json: text, keys: sortKeys(columns), isObject: text.replace(/^[ \t\n\r]+/, '').startsWith('{') };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidBody('Empty or invalid json');
    }
    return attributes(value, text);
  }
  if (media === 'text/csv') {
    const [header, ...lines] = parseCsv(text);
    if (!header) throw invalidBody('parse error (not enough input)');
    if (lines.some((line) => line.length !== header.length)) throw invalidBody('All lines must have same number of fields');
    const rows = lines.map((line) => Object.fromEntries(header.map((name, i) => [name, line[i] === 'NULL' ? null : line[i]!])));
    return attributes(rows, JSON.stringify(rows));
  }
  if (media === 'application/x-www-form-urlencoded') {
    const object = Object.fromEntries(new URLSearchParams(text));
    return { json: JSON.stringify(object), keys: sortKeys(Object.keys(object)), isObject: true };
  }
  throw invalidBody(`Content-Type not acceptable: ${media}`);
}
