/**
 * Planning a function call (`/rpc/<name>`) as PostgREST v16.2 plans it (src/PostgREST/Plan.hs,
 * callReadPlan, findProc, callPlan): the arguments come from the query string (GET, HEAD)
 * or from the JSON body (POST); the overload is the one whose parameters the argument
 * names fit (required ones all given, the rest optional); a function with one unnamed
 * json/jsonb parameter takes the whole body when no named overload fits. The read on
 * top of a set-returning or composite result (select, filters, order, limit) reuses the
 * query-string grammar (grammar.ts) and is checked like a table read, except that column
 * names are left to Postgres (42703), as PostgREST leaves them.
 */
import { ambiguousRpc, invalidBody, notBuiltYet, noRpc, PgrstError } from './errors.ts';
import type { Filter, LogicTree, OrderTerm, QueryParams, SelectItem } from './grammar.ts';
import type { PlannedSelect } from './read-plan.ts';
import type { Routine, RoutineParam, SchemaCache } from './schema-cache.ts';

/** How the arguments reach the function (QueryBuilder.hs, callPlanToQuery). */
export type CallArgs =
  /** GET: each given parameter as text, cast to its type; variadic ones as an array literal. */
  | { kind: 'direct'; values: Map<string, string | string[]> }
  /** POST: the body's object, spread into the named parameters with json_to_record. */
  | { kind: 'json'; body: string }
  /** POST to a function with a single unnamed json/jsonb parameter: the body as it is. */
  | { kind: 'single'; body: string };

export interface RpcPlan {
  routine: Routine;
  /** The parameters given, in the function's order. */
  params: RoutineParam[];
  args: CallArgs;
  select: PlannedSelect[];
  filters: Filter[];
  logic: LogicTree[];
  order: OrderTerm[];
  /** A volatile function called by POST runs read-write; everything else read-only. */
  readOnly: boolean;
  /** Returns a single scalar or a set of scalars (the body is built from pgrst_scalar). */
  scalar: boolean;
  /** Returns one value or row, not a set. */
  single: boolean;
  void: boolean;
}

const EMBEDS = 'Embedded resources on function results (select=rel(...), rel.col filters, rel.order, rel.limit)';

function isVoid(routine: Routine): boolean {
  return !routine.setof && routine.returnType.schema === 'pg_catalog' && routine.returnType.name === 'void';
}

/** PostgREST's matchesParams: all required parameters given, the rest among the optional ones. */
function matchesParams(routine: Routine, keys: ReadonlySet<string>, rawPost: boolean): boolean {
  if (routine.params.length === 0) return keys.size === 0 && !rawPost;
  const required = routine.params.filter((p) => p.required).map((p) => p.name);
  const optional = new Set(routine.params.filter((p) => !p.required).map((p) => p.name));
  const given = [...keys].filter((k) => !optional.has(k));
  return given.length === required.length && required.every((name) => keys.has(name));
}

function hasSingleUnnamedJsonParam(routine: Routine, jsonPost: boolean): boolean {
  const [only, ...rest] = routine.params;
  return jsonPost && only !== undefined && rest.length === 0 && only.name === '' && (only.type === 'json' || only.type === 'jsonb');
}

/**
 * PostgREST's findProc: the overload the argument names select, or PGRST202/PGRST203.
 *
 * @example
 * const routine = findRoutine(cache, 'public', 'accept_invitation', new Set(['token']), true);
 */
export function findRoutine(cache: SchemaCache, schema: string, name: string, keys: ReadonlySet<string>, jsonPost: boolean): Routine {
  const overloads = cache.routines.get(`${schema}.${name}`) ?? [];
  const matching = overloads.filter((r) => matchesParams(r, keys, false));
  const fallback = overloads.filter((r) => !matchesParams(r, keys, false) && hasSingleUnnamedJsonParam(r, jsonPost));
  if (matching.length === 1) return matching[0]!;
  if (matching.length > 1) throw ambiguousRpc(matching);
  if (fallback.length === 1) return fallback[0]!;
  if (fallback.length > 1) throw ambiguousRpc(fallback);
  const allNames = [...cache.routines.values()].flat().filter((r) => r.schema === schema).map((r) => r.name);
  throw noRpc({
    schema,
    name,
    argumentKeys: [...keys].sort(),
    jsonPost,
    allNames: [...new Set(allNames)],
    overloads: overloads.map((r) => r.params.map((p) => p.name)),
  });
}

function planSelect(items: SelectItem[]): PlannedSelect[] {
  return items.map((item) => {
    if (item.kind !== 'field') throw notBuiltYet(EMBEDS);
    if (item.aggregate) throw new PgrstError(400, 'PGRST123', 'Use of aggregate functions is not allowed');
    if (item.field.name === '*') return { field: item.field, star: true };
    const last = item.field.jsonPath.at(-1);
    const alias = item.alias ?? (last && !last.isIndex ? last.operand : undefined);
    return { field: item.field, ...(alias !== undefined ? { alias } : {}), ...(item.cast !== undefined ? { cast: item.cast } : {}) };
  });
}

/** The keys of a JSON object body; `{}` for an empty body (Payload.hs, getPayload). */
function bodyKeys(body: string): { keys: Set<string>; json: string } {
  if (body.trim() === '') return { keys: new Set(), json: '{}' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw invalidBody();
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return { keys: new Set(), json: '{}' };
    // PostgREST's payloadAttributes: an array must hold objects that all have the same keys.
    const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
    const first = parsed[0];
    const keys = isObject(first) ? Object.keys(first).sort().join('\0') : undefined;
    if (keys === undefined || !parsed.every((v) => isObject(v) && Object.keys(v).sort().join('\0') === keys)) throw invalidBody('All object keys must match');
    throw notBuiltYet('Calling a function once per element of a JSON array body');
  }
  // Anything but an object or an array is truncated to an empty array by PostgREST: no keys.
  if (parsed === null || typeof parsed !== 'object') return { keys: new Set(), json: '{}' };
  return { keys: new Set(Object.keys(parsed)), json: body };
}

export interface RpcRequest {
  schema: string;
  name: string;
  method: 'GET' | 'HEAD' | 'POST';
  params: QueryParams;
  /** The raw body of a POST. */
  body: string;
  /** The request's Content-Type, without parameters, lowercased. */
  contentType: string;
}

/**
 * Plans one call.
 *
 * @example
 * const plan = planRpc(cache, { schema: 'public', name: 'my_invitations', method: 'GET', params: parseQueryParams('', { rpcRead: true }), body: '', contentType: '' });
 */
export function planRpc(cache: SchemaCache, request: RpcRequest): RpcPlan {
  const { params } = request;
  if (params.filters.some((f) => f.path.length > 0) || params.logic.some((l) => l.path.length > 0) || params.order.some((o) => o.path.length > 0)) {
    throw notBuiltYet(EMBEDS);
  }
  if ([...params.ranges.keys()].some((key) => key !== 'limit')) throw notBuiltYet(EMBEDS);

  let keys: Set<string>;
  let args: CallArgs;
  let jsonBody = '{}';
  const post = request.method === 'POST';
  const direct = new Map<string, string | string[]>();
  if (!post) {
    keys = new Set((params.rpcArgs ?? []).map(([k]) => k));
  } else if (request.contentType === 'application/json' || request.contentType === '') {
    const parsed = bodyKeys(request.body);
    keys = parsed.keys;
    jsonBody = parsed.json;
  } else if (request.contentType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(request.body);
    keys = new Set(form.keys());
    for (const key of keys) direct.set(key, form.getAll(key).at(-1) ?? '');
  } else if (['text/plain', 'text/xml', 'application/octet-stream'].includes(request.contentType)) {
    throw notBuiltYet(`Calling a function with a ${request.contentType} body`);
  } else {
    throw invalidBody(`Content-Type not acceptable: ${request.contentType}`);
  }

  const jsonPost = post && request.contentType !== 'application/x-www-form-urlencoded';
  const routine = findRoutine(cache, request.schema, request.name, keys, jsonPost);
  const singleUnnamed = routine.params.length === 1 && routine.params[0]!.name === '';
  const given = singleUnnamed ? routine.params : routine.params.filter((p) => keys.has(p.name));

  if (!post) {
    for (const param of given) {
      const values = (params.rpcArgs ?? []).filter(([k]) => k === param.name).map(([, v]) => v);
      direct.set(param.name, param.variadic ? values : values.at(-1)!);
    }
    args = { kind: 'direct', values: direct };
  } else if (!jsonPost) {
    args = { kind: 'direct', values: direct };
  } else if (singleUnnamed) {
    args = { kind: 'single', body: request.body.trim() === '' ? '{}' : request.body };
  } else {
    args = { kind: 'json', body: jsonBody };
  }

  const scalar = !routine.composite;
  const filters = params.filters.map((f) => f.filter);
  const logic = params.logic.map((l) => l.tree);
  const order = params.order.flatMap((o) => o.terms);
  if (order.some((term) => term.kind === 'relation')) throw notBuiltYet(EMBEDS);
  return {
    routine,
    params: given,
    args,
    select: planSelect(params.select),
    filters,
    logic,
    order,
    readOnly: !(post && routine.volatility === 'volatile'),
    scalar,
    single: !routine.setof,
    void: isVoid(routine),
  };
}
