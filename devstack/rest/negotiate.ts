/**
 * Content negotiation, Prefer and Range as PostgREST v16.2 reads them
 * (src/PostgREST/MediaType.hs, Plan/Negotiate.hs, ApiRequest/Preferences.hs,
 * RangeQuery.hs).
 */
import { invalidPreferences, invalidRange, mediaTypeError } from './errors.ts';
import type { BodyFormat } from './sql.ts';

export type ReadMedia = { format: Exclude<BodyFormat, 'none'>; contentType: string; stripNulls: boolean };

interface Accepted {
  mime: string;
  media: ReadMedia | undefined;
}

function decode(raw: string): Accepted {
  const [essence = '', ...params] = raw.split(';').map((s) => s.trim());
  const [type = '', subtype = ''] = essence.toLowerCase().split('/');
  const parameters = new Map(
    params.map((p) => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, '')] as const;
    }),
  );
  const stripped = parameters.get('nulls') === 'stripped';
  const json: ReadMedia = { format: 'json', contentType: 'application/json; charset=utf-8', stripNulls: false };
  if ((type === 'application' && subtype === 'json') || (type === '*' && subtype === '*')) return { mime: type === '*' ? '*/*' : 'application/json', media: json };
  if (type === 'text' && subtype === 'csv') return { mime: 'text/csv', media: { format: 'csv', contentType: 'text/csv; charset=utf-8', stripNulls: false } };
  if (type === 'application' && (subtype === 'vnd.pgrst.object+json' || subtype === 'vnd.pgrst.object')) {
    const mime = stripped ? 'application/vnd.pgrst.object+json;nulls=stripped' : 'application/vnd.pgrst.object+json';
    return { mime, media: { format: 'single', contentType: `${mime}; charset=utf-8`, stripNulls: stripped } };
  }
  if (type === 'application' && (subtype === 'vnd.pgrst.array+json' || subtype === 'vnd.pgrst.array')) {
    if (!stripped) return { mime: 'application/json', media: json };
    const mime = 'application/vnd.pgrst.array+json;nulls=stripped';
    return { mime, media: { format: 'json', contentType: `${mime}; charset=utf-8`, stripNulls: true } };
  }
  const known: Record<string, string> = {
    'application/geo+json': 'application/geo+json',
    'text/plain': 'text/plain',
    'text/xml': 'text/xml',
    'application/openapi+json': 'application/openapi+json',
    'application/x-www-form-urlencoded': 'application/x-www-form-urlencoded',
    'application/octet-stream': 'application/octet-stream',
  };
  return { mime: known[`${type}/${subtype}`] ?? raw.trim(), media: undefined };
}

/**
 * The media type of a read's response: the first acceptable one of the Accept header in
 * order of quality (parseHttpAccept); PGRST107 when none is.
 */
export function negotiateRead(accept: string | undefined): ReadMedia {
  const entries = (accept ?? '*/*')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part, index) => {
      const q = /;\s*q=([0-9.]+)/i.exec(part);
      const quality = q ? Number(q[1]) : 1;
      return { raw: part.replace(/;\s*q=[0-9.]+/i, ''), quality, index };
    })
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  const accepted = (entries.length === 0 ? [{ raw: '*/*' }] : entries).map((e) => decode(e.raw));
  const pick = accepted.find((a) => a.media);
  if (!pick?.media) throw mediaTypeError(accepted.map((a) => a.mime));
  return pick.media;
}

export type CountPreference = 'exact' | 'planned' | 'estimated';

export interface Preferences {
  count: CountPreference | undefined;
  handling: 'strict' | 'lenient' | undefined;
  timezone: string | undefined;
  resolution: 'merge-duplicates' | 'ignore-duplicates' | undefined;
  representation: 'representation' | 'minimal' | 'headers-only' | undefined;
  missing: 'default' | 'null' | undefined;
  /** `max-affected=n` (an integer; anything else is ignored, as readMaybe does). */
  maxAffected: number | undefined;
  /** `Preference-Applied` for a read. */
  applied: string | undefined;
}

const ACCEPTED = [
  'resolution=merge-duplicates',
  'resolution=ignore-duplicates',
  'return=representation',
  'return=minimal',
  'return=headers-only',
  'count=exact',
  'count=planned',
  'count=estimated',
  'tx=commit',
  'tx=rollback',
  'missing=default',
  'missing=null',
  'handling=strict',
  'handling=lenient',
];

/** Reads every Prefer header; unknown preferences fail only with `handling=strict` (PGRST122). */
export function readPreferences(headers: string[]): Preferences {
  const prefs = headers.flatMap((h) => h.split(',')).map((p) => p.trim());
  const first = <T extends string>(prefix: string, values: readonly T[]): T | undefined =>
    prefs.map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : undefined)).find((v): v is T => v !== undefined && (values as readonly string[]).includes(v));
  const count = first('count=', ['exact', 'planned', 'estimated'] as const);
  const handling = first('handling=', ['strict', 'lenient'] as const);
  const timezone = prefs.find((p) => p.startsWith('timezone='))?.slice('timezone='.length);
  const resolution = first('resolution=', ['merge-duplicates', 'ignore-duplicates'] as const);
  const representation = first('return=', ['representation', 'minimal', 'headers-only'] as const);
  const missing = first('missing=', ['default', 'null'] as const);
  const maxRaw = prefs.find((p) => p.startsWith('max-affected='))?.slice('max-affected='.length);
  const maxAffected = maxRaw !== undefined && /^-?\d+$/.test(maxRaw) ? Number(maxRaw) : undefined;
  // tx=commit|rollback are valid but ignored: the CLI leaves db-tx-end at "commit", which
  // allows no override (upstream PostgREST src/library/PostgREST/Config.hs parseTxEnd).
  const invalid = prefs.filter((p) => p !== '' && !ACCEPTED.includes(p) && !p.startsWith('timezone=') && !p.startsWith('max-affected='));
  if (invalid.length > 0 && handling === 'strict') throw invalidPreferences(invalid);
  const applied = [count && `count=${count}`, handling && `handling=${handling}`, timezone !== undefined ? `timezone=${timezone}` : undefined].filter(Boolean).join(', ');
  return { count, handling, timezone, resolution, representation, missing, maxAffected, applied: applied || undefined };
}

/**
 * `Preference-Applied` of a write (Response.hs responsePreferences, Preferences.hs
 * prefAppliedHeader): resolution only on POST with a conflict target, missing on POST and
 * PATCH, max-affected on PATCH and DELETE with handling=strict.
 *
 * @example
 * writePreferenceApplied(readPreferences(['return=minimal']), 'update', false); // 'return=minimal'
 */
export function writePreferenceApplied(prefs: Preferences, mutation: 'create' | 'update' | 'upsert' | 'delete', hasConflictTarget: boolean): string | undefined {
  const values = [
    mutation === 'create' && hasConflictTarget && prefs.resolution ? `resolution=${prefs.resolution}` : undefined,
    (mutation === 'create' || mutation === 'update') && prefs.missing ? `missing=${prefs.missing}` : undefined,
    prefs.representation ? `return=${prefs.representation}` : undefined,
    prefs.count ? `count=${prefs.count}` : undefined,
    prefs.handling ? `handling=${prefs.handling}` : undefined,
    prefs.timezone !== undefined ? `timezone=${prefs.timezone}` : undefined,
    (mutation === 'update' || mutation === 'delete') && prefs.handling === 'strict' && prefs.maxAffected !== undefined ? `max-affected=${prefs.maxAffected}` : undefined,
  ].filter((v): v is string => v !== undefined);
  return values.length > 0 ? values.join(', ') : undefined;
}

/** A range of row numbers, `upper` undefined meaning unbounded; empty when upper < lower. */
export interface RowRange {
  lower: number;
  upper: number | undefined;
}

function intersect(a: RowRange, b: RowRange): RowRange {
  const lower = Math.max(a.lower, b.lower);
  const upper = a.upper === undefined ? b.upper : b.upper === undefined ? a.upper : Math.min(a.upper, b.upper);
  return { lower, upper };
}

const isEmpty = (r: RowRange) => r.upper !== undefined && r.upper < r.lower;

/**
 * The top-level range of a read from the Range header (GET only), `limit` and `offset`,
 * then `max_rows`, as getRanges and the read plan compute it.
 */
export function topLevelRange(options: { rangeHeader: string | undefined; limit: number | undefined; offset: number; hasLimit: boolean; maxRows: number | undefined }): { offset: number; limit: number | undefined } {
  let header: RowRange = { lower: 0, upper: undefined };
  const match = options.rangeHeader !== undefined ? /^([0-9]+)-([0-9]*)$/.exec(options.rangeHeader) : null;
  if (match) header = { lower: Number(match[1]), upper: match[2] === '' ? undefined : Number(match[2]) };
  if (match && isEmpty(header)) throw invalidRange('lower-gt-upper');
  // limit/offset params: [offset, offset + limit - 1]
  const param: RowRange = { lower: options.offset, upper: options.limit === undefined ? undefined : options.offset + options.limit - 1 };
  // limit=0 at offset 0 is PostgREST's "limit zero range", which the Range header cannot override.
  const limitZero = options.hasLimit && options.limit === 0 && options.offset === 0;
  if (options.limit !== undefined && options.limit < 0) throw invalidRange('negative');
  let range = limitZero ? { lower: 0, upper: -1 } : intersect(header, param);
  if (!limitZero && isEmpty(range)) throw invalidRange(isEmpty(header) ? 'lower-gt-upper' : 'negative');
  if (options.maxRows !== undefined) range = intersect(range, { lower: 0, upper: range.lower + options.maxRows - 1 });
  return { offset: range.lower, limit: range.upper === undefined ? undefined : range.upper - range.lower + 1 };
}

/** Content-Range and the status of a read (rangeStatusHeader). */
export function contentRange(offset: number, pageTotal: number, total: number | undefined): { status: number; header: string } {
  const lower = offset;
  const upper = lower + pageTotal - 1;
  const rangePart = total !== 0 && lower <= upper ? `${lower}-${upper}` : '*';
  const header = `${rangePart}/${total === undefined ? '*' : total}`;
  let status = 200;
  if (total !== undefined) {
    if (lower > total) status = 416;
    else if (1 + upper - lower < total) status = 206;
  }
  return { status, header };
}
