/**
 * Errors of the local Data API in PostgREST's shape: a JSON body `{code, message, details,
 * hint}`, the status PostgREST gives the code, and its `Proxy-Status` header. Codes,
 * texts and statuses follow PostgREST v16.2's src/PostgREST/Error.hs (the version the
 * pinned Supabase CLI runs; see docs/data-api.md).
 */

export interface PgrstErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

/** An error answered as PostgREST answers it. */
export class PgrstError extends Error {
  override readonly name = 'PgrstError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): PgrstErrorBody {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

/** PGRST100: a query parameter that does not parse. */
export function queryParamError(message: string, details: string): PgrstError {
  return new PgrstError(400, 'PGRST100', message, details);
}

/** PGRST103: an unsatisfiable Range header or limit. */
export function invalidRange(kind: 'negative' | 'lower-gt-upper' | { offset: number; total: number }): PgrstError {
  const details =
    kind === 'negative'
      ? 'Limit should be greater than or equal to zero.'
      : kind === 'lower-gt-upper'
        ? 'The lower boundary must be lower than or equal to the upper boundary in the Range header.'
        : `An offset of ${kind.offset} was requested, but there are only ${kind.total} rows.`;
  return new PgrstError(416, 'PGRST103', 'Requested range not satisfiable', details);
}

/** PGRST106: an Accept-Profile/Content-Profile naming a schema that is not exposed. */
export function unacceptableSchema(schema: string, exposed: readonly string[]): PgrstError {
  return new PgrstError(406, 'PGRST106', `Invalid schema: ${schema}`, null, `Only the following schemas are exposed: ${exposed.join(', ')}`);
}

/** PGRST107: no acceptable media type. */
export function mediaTypeError(accepted: readonly string[]): PgrstError {
  return new PgrstError(406, 'PGRST107', `None of these media types are available: ${accepted.join(', ')}`);
}

/** PGRST116: a singular response (vnd.pgrst.object) of anything but one row. */
export function singularityError(rows: number): PgrstError {
  return new PgrstError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${rows} rows`);
}

/** PGRST117: a method PostgREST has no action for. */
export function unsupportedMethod(method: string): PgrstError {
  return new PgrstError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
}

/** PGRST122: unknown preferences with `handling=strict`. */
export function invalidPreferences(prefs: readonly string[]): PgrstError {
  return new PgrstError(400, 'PGRST122', 'Invalid preferences given with handling=strict', `Invalid preferences: ${prefs.join(', ')}`);
}

/** PGRST125: a path that is neither `/`, `/<relation>` nor `/rpc/<function>`. */
export function invalidResourcePath(): PgrstError {
  return new PgrstError(404, 'PGRST125', 'Invalid path specified in request URL');
}

/**
 * PGRST127 ("Feature not implemented") for what PostgREST serves but this stand-in does
 * not build yet. PostgREST itself answers PGRST127 with 400; this answers 501, because the
 * request is valid and only the stand-in lacks the feature.
 */
export function notBuiltYet(feature: string): PgrstError {
  return new PgrstError(
    501,
    'PGRST127',
    'Feature not implemented',
    `${feature} is not served by the local Data API of the Docker-free devstack yet; \`npx supabase start\` runs the real PostgREST`,
  );
}

/** PGRST205: a relation that is not in the schema cache, with PostgREST's fuzzy hint. */
export function tableNotFound(schema: string, name: string, candidates: readonly string[]): PgrstError {
  const best = closestName(name, candidates, 0.75);
  return new PgrstError(
    404,
    'PGRST205',
    `Could not find the table '${schema}.${name}' in the schema cache`,
    null,
    best === undefined ? null : `Perhaps you meant the table '${schema}.${best}'`,
  );
}

/**
 * 42703, as Postgres words it for a qualified column reference: PostgREST leaves unknown
 * columns of a read to Postgres, which answers this (status 400). The stand-in refuses
 * them before building SQL, so no unknown identifier reaches the database.
 */
export function columnNotFound(relation: string, column: string): PgrstError {
  return new PgrstError(400, '42703', `column ${relation}.${column} does not exist`);
}

/** PGRST301/PGRST303: a token that does not verify. */
export function jwtError(code: 'PGRST301' | 'PGRST303', message: string): PgrstError {
  return new PgrstError(401, code, message, null, null, {
    'www-authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}`,
  });
}

/** Levenshtein similarity (1 - distance / longer length), the final score of PostgREST's fuzzy hints. */
function closestName(name: string, candidates: readonly string[], minScore: number): string | undefined {
  let best: { name: string; score: number } | undefined;
  for (const candidate of candidates) {
    const longer = Math.max(candidate.length, name.length);
    const score = longer === 0 ? 1 : 1 - levenshtein(candidate.toLowerCase(), name.toLowerCase()) / longer;
    if (score >= minScore && (!best || score > best.score)) best = { name: candidate, score };
  }
  return best?.name;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

interface PostgresLikeError {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  hint?: unknown;
  errno?: unknown;
}

/**
 * The HTTP status PostgREST gives a SQLSTATE (Error.hs, mapSQLtoHTTP): `authed` is false
 * for the anon role, whose 42501 is a 401.
 */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  if (code.startsWith('08')) return 503;
  if (code.startsWith('09')) return 500;
  if (code.startsWith('0L') || code.startsWith('0P')) return 403;
  switch (code) {
    case '23503':
    case '23505':
      return 409;
    case '25006':
      return 405;
    case '21000':
      return message.endsWith('requires a WHERE clause') ? 400 : 500;
    case '22023':
      return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
    case '53400':
      return 500;
    case '57P01':
      return 503;
    case 'P0001':
      return 400;
    case '42883':
      return message.startsWith('function xmlagg(') ? 406 : 404;
    case '42P01':
      return 404;
    case '42P17':
      return 500;
    case '42501':
      return authed ? 403 : 401;
  }
  const prefix = code.slice(0, 2);
  if (['25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'XX'].includes(prefix)) return 500;
  if (prefix === '28') return 403;
  if (prefix === '53') return 503;
  if (prefix === 'P0') return 500;
  if (prefix === 'PT') {
    const status = Number(code.slice(2));
    return Number.isInteger(status) && status >= 100 && status <= 999 ? status : 500;
  }
  return 400;
}

/** True when postgres.js reports a lost or refused connection rather than a server error. */
function isConnectionFailure(error: PostgresLikeError): boolean {
  const code = typeof error.code === 'string' ? error.code : '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'].includes(code);
}

/**
 * A Postgres error as PostgREST answers it: the SQLSTATE as `code`, Postgres's message,
 * detail and hint, the mapped status; a connection failure is PGRST000 (503). Anything
 * else (a bug here) is undefined.
 */
export function fromPostgresError(error: unknown, authed: boolean): PgrstError | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const pg = error as PostgresLikeError;
  if (isConnectionFailure(pg)) return new PgrstError(503, 'PGRST000', 'Database connection error.', typeof pg.message === 'string' ? pg.message : null);
  if (typeof pg.code !== 'string' || typeof pg.message !== 'string' || !/^[0-9A-Z]{5}$/.test(pg.code)) return undefined;
  const status = statusForSqlState(pg.code, pg.message, authed);
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  return new PgrstError(
    status,
    pg.code,
    pg.message,
    typeof pg.detail === 'string' ? pg.detail : null,
    typeof pg.hint === 'string' ? pg.hint : null,
    headers,
  );
}

/** PGRST102: a request body that does not parse (PostgREST drops the parser's own message). */
export function invalidBody(message = 'Empty or invalid json'): PgrstError {
  return new PgrstError(400, 'PGRST102', message);
}

/**
 * PGRST202: no function of that name takes these argument names (Error.hs, NoRpc). The
 * hint is PostgREST's noRpcHint: a function of a similar name (score 0.75) when none has
 * this name, else the overload whose sorted parameter list is closest to the given one.
 */
export function noRpc(options: {
  schema: string;
  name: string;
  /** The argument names, sorted (PostgREST lists a Set). */
  argumentKeys: readonly string[];
  /** POST with a JSON body: the details also mention a single unnamed json/jsonb parameter. */
  jsonPost: boolean;
  /** Every function name in the schema. */
  allNames: readonly string[];
  /** The parameter names of each overload with this name. */
  overloads: readonly (readonly string[])[];
}): PgrstError {
  const { schema, name, argumentKeys, jsonPost, allNames, overloads } = options;
  const func = `${schema}.${name}`;
  const listed = argumentKeys.join(', ');
  const message = `Could not find the function ${func}${argumentKeys.length === 0 ? ' without parameters' : `(${listed})`} in the schema cache`;
  const withParams = argumentKeys.length === 0 ? ' without parameters' : ` with parameter${argumentKeys.length > 1 ? 's' : ''} ${listed}`;
  const details = `Searched for the function ${func}${withParams}${jsonPost ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`;
  const asList = (names: readonly string[]) => `(${[...names].sort().join(', ')})`;
  const best =
    overloads.length === 0
      ? closestName(name, allNames, 0.75)
      : (() => {
          const hit = closestName(asList(argumentKeys), overloads.map(asList), 0.33);
          return hit === undefined ? undefined : `${name}${hit}`;
        })();
  return new PgrstError(404, 'PGRST202', message, details, best === undefined ? null : `Perhaps you meant to call the function ${schema}.${best}`);
}

/** PGRST203 (status 300): more than one overload takes these argument names (Error.hs, AmbiguousRpc). */
export function ambiguousRpc(candidates: readonly { schema: string; name: string; params: readonly { name: string; type: string }[] }[]): PgrstError {
  const listed = candidates.map((c) => `${c.schema}.${c.name}(${c.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`).join(', ');
  return new PgrstError(
    300,
    'PGRST203',
    `Could not choose the best candidate function between: ${listed}`,
    null,
    'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
  );
}
