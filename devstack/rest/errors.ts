/**
 * Errors of the local Data API in PostgREST's shape: a JSON body `{code, message, details,
 * hint}`, the status PostgREST gives the code, and its `Proxy-Status` header. Codes,
 * texts and statuses follow PostgREST v16.2's src/PostgREST/Error.hs (the version the
 * pinned Supabase CLI runs; README.md, "The local Data API (`/rest/v1`)", says what is covered).
 */

export interface PgrstErrorBody {
  code: string;
  message: string;
  /** A list only for PGRST201, whose details are the candidate relationships. */
  details: string | null | { cardinality: string; embedding: string; relationship: string }[];
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

/** PGRST105: a PUT whose filters are not exactly `eq` on every primary key column. */
export function invalidPutFilters(): PgrstError {
  return new PgrstError(405, 'PGRST105', "Filters must include all and only primary key columns with 'eq' operators");
}

/** PGRST114: limit or offset on a PUT. */
export function putLimitNotAllowed(): PgrstError {
  return new PgrstError(400, 'PGRST114', 'limit/offset querystring parameters are not allowed for PUT');
}

/** PGRST115: a PUT whose body does not carry the primary key of its URL. */
export function putMatchingPk(): PgrstError {
  return new PgrstError(400, 'PGRST115', 'Payload values do not match URL in primary key column(s)');
}

/** PGRST124: more rows written than `Prefer: max-affected` allows (with handling=strict). */
export function maxAffectedViolation(rows: number): PgrstError {
  return new PgrstError(400, 'PGRST124', 'Query result exceeds max-affected preference constraint', `The query affects ${rows} rows`);
}

/** PGRST204: a body key or `columns=` entry that is not a column of the relation. */
export function writeColumnNotFound(relation: string, column: string): PgrstError {
  return new PgrstError(400, 'PGRST204', `Could not find the '${column}' column of '${relation}' in the schema cache`);
}

/**
 * 21000 from pg-safeupdate, which Supabase preloads for PostgREST's authenticator
 * (upstream supabase/postgres migrations/db/migrations/20220224211803_fix-postgrest-supautils.sql):
 * an UPDATE or DELETE without a WHERE clause. PostgREST answers it 400 (Error.hs).
 */
export function safeUpdateRefusal(statement: 'UPDATE' | 'DELETE'): PgrstError {
  return new PgrstError(400, '21000', `${statement} requires a WHERE clause`);
}

/**
 * A body larger than the local gateway takes. PostgREST sets no limit; this stand-in does,
 * so a runaway client cannot exhaust the devstack's memory (a code of its own: PGRSTX..).
 */
export function payloadTooLarge(limit: number): PgrstError {
  return new PgrstError(413, 'PGRSTX13', 'Request body too large', `The local Data API takes request bodies of at most ${limit} bytes`);
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

/**
 * PGRST108: a filter, order or limit on an embed path that is not in `select`.
 *
 * @example
 * throw notEmbedded('clients');
 */
export function notEmbedded(resource: string): PgrstError {
  return new PgrstError(400, 'PGRST108', `'${resource}' is not an embedded resource in this request`, null, `Verify that '${resource}' is included in the 'select' query parameter.`);
}

/** PGRST118: `order=rel(col)` on a relationship that is not to-one. */
export function relatedOrderNotToOne(origin: string, target: string): PgrstError {
  return new PgrstError(400, 'PGRST118', `A related order on '${target}' is not possible`, `'${origin}' and '${target}' do not form a many-to-one or one-to-one relationship`);
}

/** PGRST123: an aggregate while `db-aggregates-enabled` is off (the CLI leaves it off). */
export function aggregatesNotAllowed(): PgrstError {
  return new PgrstError(400, 'PGRST123', 'Use of aggregate functions is not allowed');
}

/**
 * PGRST200: no relationship between `parent` and `child` (upstream PostgREST/postgrest
 * src/PostgREST/Error.hs, NoRelBetween and noRelBetweenHint): the hint suggests a parent
 * when the parent has no relationships, else a child among the parent's related tables
 * (never the child itself). PostgREST ranks candidates with a fuzzy set; this ranks by
 * Levenshtein similarity at the fuzzy set's default threshold (0.33), so a borderline
 * suggestion may differ.
 *
 * @example
 * throw noRelationship('projects', 'nope', undefined, 'public', ['projects'], ['clients']);
 */
export function noRelationship(parent: string, child: string, hint: string | undefined, schema: string, parents: readonly string[], children: readonly string[] | undefined): PgrstError {
  const details = `Searched for a foreign key relationship between '${parent}' and '${child}${hint !== undefined ? `' using the hint '${hint}` : ''}' in the schema '${schema}', but no matches were found.`;
  let suggestion: string | null = null;
  if (children !== undefined) {
    const best = children.includes(child) ? undefined : closestName(child, children, 0.33);
    if (best !== undefined) suggestion = `Perhaps you meant '${best}' instead of '${child}'.`;
  } else {
    const best = closestName(parent, parents, 0.33);
    if (best !== undefined) suggestion = `Perhaps you meant '${best}' instead of '${parent}'.`;
  }
  return new PgrstError(400, 'PGRST200', `Could not find a relationship between '${parent}' and '${child}' in the schema cache`, details, suggestion);
}

/** One candidate of an ambiguous embed, as PostgREST's compressedRel. */
export interface AmbiguousCandidate {
  cardinality: string;
  embedding: string;
  relationship: string;
  /** What to put after `child!` to pick it. */
  hint: string;
}

/** PGRST201 (300 Multiple Choices): more than one relationship matches; `details` is the list of candidates. */
export class AmbiguousEmbedError extends PgrstError {
  constructor(
    parent: string,
    child: string,
    readonly candidates: AmbiguousCandidate[],
  ) {
    super(
      300,
      'PGRST201',
      `Could not embed because more than one relationship was found for '${parent}' and '${child}'`,
      null,
      `Try changing '${child}' to one of the following: ${candidates.map((c) => `'${child}!${c.hint}'`).join(', ')}. Find the desired relationship in the 'details' key.`,
    );
  }

  override get body(): PgrstErrorBody {
    return { ...super.body, details: this.candidates.map(({ cardinality, embedding, relationship }) => ({ cardinality, embedding, relationship })) };
  }
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

/** PGRST102: a request body PostgREST cannot take (ApiRequest/Payload.hs); for one that does not parse, PostgREST drops the parser's own message. */
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
