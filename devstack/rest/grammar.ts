/**
 * PostgREST's query-string grammar (src/PostgREST/ApiRequest/QueryParams.hs at v16.2),
 * parsed by hand: `select`, filters (`col=op.value`, `not.`, `any`/`all`), `or`/`and`
 * trees, `order`, `limit`/`offset`, each possibly under an embed path (`rel.col=...`).
 * No parser library on npm speaks this grammar, and a combinator library would only
 * replace the few primitives below.
 *
 * A value that does not parse is a PGRST100 whose message is PostgREST's: the failing
 * parameter and the 1-based line and column (`"failed to parse select parameter (a,,b)"
 * (line 1, column 3)`), and whose details say what was unexpected and, where this parser
 * knows, what was expected. The details' wording follows Parsec's but is not guaranteed
 * to list exactly Parsec's alternatives.
 */
import { queryParamError, type PgrstError } from './errors.ts';

export interface JsonStep {
  arrow: '->' | '->>';
  /** A key, or an index with its sign (`+1`, `-2`) as PostgREST keeps it. */
  operand: string;
  isIndex: boolean;
}

export interface Field {
  name: string;
  jsonPath: JsonStep[];
}

export type AggregateFunction = 'sum' | 'avg' | 'count' | 'max' | 'min';

export type SelectItem =
  | { kind: 'field'; field: Field; alias?: string; cast?: string; aggregate?: AggregateFunction; aggregateCast?: string }
  | { kind: 'relation'; name: string; alias?: string; hint?: string; joinType?: 'left' | 'inner'; children: SelectItem[] }
  | { kind: 'spread'; name: string; hint?: string; joinType?: 'left' | 'inner'; children: SelectItem[] };

export type SimpleOperator = 'neq' | 'cs' | 'cd' | 'ov' | 'sl' | 'sr' | 'nxr' | 'nxl' | 'adj';
export type QuantOperator = 'eq' | 'gte' | 'gt' | 'lte' | 'lt' | 'like' | 'ilike' | 'match' | 'imatch';
export type FtsOperator = 'fts' | 'plfts' | 'phfts' | 'wfts';
export type IsValue = 'null' | 'not_null' | 'true' | 'false' | 'unknown';

export type Operation =
  | { kind: 'simple'; operator: SimpleOperator; value: string }
  | { kind: 'quant'; operator: QuantOperator; quantifier?: 'any' | 'all'; value: string }
  | { kind: 'in'; values: string[] }
  | { kind: 'is'; value: IsValue }
  | { kind: 'isdistinct'; value: string }
  | { kind: 'fts'; operator: FtsOperator; language?: string; value: string };

export interface OpExpr {
  negated: boolean;
  operation: Operation;
}

export interface Filter {
  field: Field;
  expr: OpExpr;
}

export type LogicTree = { kind: 'filter'; filter: Filter } | { kind: 'expr'; negated: boolean; operator: 'and' | 'or'; children: LogicTree[] };

export type OrderTerm =
  | { kind: 'field'; field: Field; direction?: 'asc' | 'desc'; nulls?: 'nullsfirst' | 'nullslast' }
  | { kind: 'relation'; relation: string; field: Field; direction?: 'asc' | 'desc'; nulls?: 'nullsfirst' | 'nullslast' };

/** The limit and offset of one level: `limit` undefined means all rows. */
export interface Range {
  offset: number;
  limit?: number;
}

export interface QueryParams {
  /** The parameters sorted by name, as PostgREST's Content-Location carries them. */
  canonical: string;
  select: SelectItem[];
  filters: { path: string[]; filter: Filter }[];
  logic: { path: string[]; tree: LogicTree }[];
  order: { path: string[]; terms: OrderTerm[] }[];
  /** Keyed by the embed path joined with `.` plus `.limit` (`limit` for the top level). */
  ranges: Map<string, Range>;
  /** Names of the parameters used as filters (for RPC parts to come). */
  columns?: string[];
  /** With `rpcRead`: the parameters whose value is no filter, the function's arguments (PostgREST's qsParams). */
  rpcArgs?: [string, string][];
  onConflict?: string[];
}

class Failure extends Error {
  constructor(
    readonly position: number,
    readonly unexpected: string,
    readonly expecting: string[],
  ) {
    super('parse failure');
  }
}

/** A cursor over one parameter value. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  eat(s: string): boolean {
    if (!this.startsWith(s)) return false;
    this.pos += s.length;
    return true;
  }
  fail(expecting: string[], at = this.pos): never {
    const char = this.text[at];
    throw new Failure(at, char === undefined ? 'end of input' : JSON.stringify(char), expecting);
  }
  expect(s: string, label = JSON.stringify(s)): void {
    if (!this.eat(s)) this.fail([label]);
  }
  spaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
}

/** Parsec's unexpected token when `string expected` fails on `text`: the first differing character. */
function mismatch(text: string, expected: string): string {
  for (let i = 0; i < expected.length; i++) {
    if (text[i] === undefined) return 'end of input';
    if (text[i] !== expected[i]) return JSON.stringify(text[i]);
  }
  return JSON.stringify(text[expected.length] ?? '');
}

const IDENTIFIER_CHAR = /[\p{L}\p{N}_ $]/u;
const FIELD_NAME = 'field name (* or [a..z0..9_$])';

/** A double-quoted value with backslash escapes (pQuotedValue). */
function quoted(c: Cursor): string | undefined {
  if (c.peek() !== '"') return undefined;
  c.pos++;
  let out = '';
  for (;;) {
    const ch = c.peek();
    if (ch === undefined) c.fail(['"\\""']);
    c.pos++;
    if (ch === '"') return out;
    if (ch === '\\') {
      const next = c.peek();
      if (next === undefined) c.fail(['any character']);
      out += next;
      c.pos++;
    } else out += ch;
  }
}

/** Parts separated by a dash that does not start `->` (sepByDash). */
function dashed(c: Cursor, part: (c: Cursor) => string | undefined): string | undefined {
  const first = part(c);
  if (first === undefined) return undefined;
  const parts = [first];
  while (c.peek() === '-' && c.peek(1) !== '>') {
    const save = c.pos;
    c.pos++;
    const next = part(c);
    if (next === undefined) {
      c.pos = save;
      c.fail(['letter or digit'], save + 1);
    }
    parts.push(next);
  }
  return parts.join('-');
}

function identifierPart(c: Cursor): string | undefined {
  const start = c.pos;
  while (!c.done && IDENTIFIER_CHAR.test(c.peek()!)) c.pos++;
  return c.pos > start ? c.text.slice(start, c.pos).trim() : undefined;
}

/** pIdentifier: letters, digits, `_`, space, `$`, trimmed. */
function identifier(c: Cursor): string | undefined {
  return identifierPart(c);
}

/** pFieldName: a quoted value or dash-separated identifiers. */
function fieldName(c: Cursor): string | undefined {
  return quoted(c) ?? dashed(c, identifierPart);
}

function requireFieldName(c: Cursor): string {
  const name = fieldName(c);
  if (name === undefined) c.fail([FIELD_NAME]);
  return name;
}

function jsonKeyPart(c: Cursor): string | undefined {
  const start = c.pos;
  while (!c.done && !'(-:.,>)'.includes(c.peek()!)) c.pos++;
  return c.pos > start ? c.text.slice(start, c.pos).trim() : undefined;
}

/** pJsonPath: `->key`, `->>key`, `->0`, `->-1`. */
function jsonPath(c: Cursor): JsonStep[] {
  const steps: JsonStep[] = [];
  for (;;) {
    let arrow: '->' | '->>';
    if (c.startsWith('->>')) arrow = '->>';
    else if (c.startsWith('->')) arrow = '->';
    else return steps;
    const save = c.pos;
    c.pos += arrow.length;
    const index = /^-?\d+/.exec(c.text.slice(c.pos));
    if (index) {
      const end = c.pos + index[0].length;
      const rest = c.text.slice(end);
      if (rest === '' || rest.startsWith('->') || rest.startsWith('::') || rest.startsWith('.') || rest.startsWith(',')) {
        const digits = index[0].startsWith('-') ? index[0] : `+${index[0]}`;
        steps.push({ arrow, operand: digits, isIndex: true });
        c.pos = end;
        continue;
      }
      if (index[0].startsWith('-')) c.fail(['digit', '"->"', '"::"', '"."', '","', 'end of input'], end);
    } else if (c.peek() === '-' && !c.startsWith('->', )) {
      c.fail(['digit'], c.pos + 1);
    }
    const key = quoted(c) ?? dashed(c, jsonKeyPart);
    if (key === undefined) {
      c.pos = save;
      return steps;
    }
    steps.push({ arrow, operand: key, isIndex: false });
  }
}

/** pField: a field name and its JSON path, surrounded by optional spaces. */
function field(c: Cursor): Field {
  c.spaces();
  const name = requireFieldName(c);
  const path = jsonPath(c);
  c.spaces();
  return { name, jsonPath: path };
}

/** `alias:` (a single colon, not the `::` of a cast), or nothing. */
function alias(c: Cursor): string | undefined {
  const save = c.pos;
  const name = fieldName(c);
  if (name !== undefined && c.peek() === ':' && c.peek(1) !== ':') {
    c.pos++;
    return name;
  }
  c.pos = save;
  return undefined;
}

function atItemEnd(c: Cursor): boolean {
  return c.done || c.peek() === ')' || c.peek() === ',';
}

function embedParams(c: Cursor): { hint?: string; joinType?: 'left' | 'inner' } {
  const out: { hint?: string; joinType?: 'left' | 'inner' } = {};
  for (let i = 0; i < 2 && c.peek() === '!'; i++) {
    c.pos++;
    if (c.eat('left')) out.joinType ??= 'left';
    else if (c.eat('inner')) out.joinType ??= 'inner';
    else {
      const hint = fieldName(c);
      if (hint === undefined) c.fail(['"left"', '"inner"', FIELD_NAME]);
      out.hint ??= hint;
    }
  }
  return out;
}

function selectItem(c: Cursor): SelectItem {
  c.spaces();
  const start = c.pos;
  // Spread: ...name(...)
  if (c.startsWith('...')) {
    c.pos += 3;
    const name = requireFieldName(c);
    const params = embedParams(c);
    if (c.peek() !== '(') c.fail(['"("']);
    const children = forest(c, true);
    c.spaces();
    return { kind: 'spread', name, ...params, children };
  }
  // Relation: [alias:]name[!hint][!inner](...) — never `count(`.
  {
    const relAlias = alias(c);
    const name = fieldName(c);
    if (name !== undefined && name !== 'count') {
      const params = embedParams(c);
      if (c.peek() === '(') {
        const children = forest(c, true);
        c.spaces();
        return { kind: 'relation', name, ...(relAlias !== undefined ? { alias: relAlias } : {}), ...params, children };
      }
    }
    c.pos = start;
  }
  // Star
  if (c.peek() === '*') {
    c.pos++;
    c.spaces();
    if (!atItemEnd(c)) c.fail(['")"', '","', 'end of input']);
    return { kind: 'field', field: { name: '*', jsonPath: [] } };
  }
  // count()
  {
    const countAlias = alias(c);
    if (c.eat('count()')) {
      const aggregateCast = c.eat('::') ? requireIdentifier(c) : undefined;
      c.spaces();
      if (!atItemEnd(c)) c.fail(['")"', '","', 'end of input']);
      return {
        kind: 'field',
        field: { name: '*', jsonPath: [] },
        aggregate: 'count',
        ...(aggregateCast !== undefined ? { aggregateCast } : {}),
        ...(countAlias !== undefined ? { alias: countAlias } : {}),
      };
    }
    c.pos = start;
  }
  c.spaces();
  const fieldAlias = alias(c);
  const fld = field(c);
  const cast = c.eat('::') ? requireIdentifier(c) : undefined;
  let aggregate: AggregateFunction | undefined;
  if (c.peek() === '.') {
    const match = /^\.(sum|avg|count|max|min)\(\)/.exec(c.text.slice(c.pos));
    if (match) {
      aggregate = match[1] as AggregateFunction;
      c.pos += match[0].length;
    }
  }
  const aggregateCast = c.eat('::') ? requireIdentifier(c) : undefined;
  c.spaces();
  if (!atItemEnd(c)) {
    c.fail(
      fld.jsonPath.length > 0
        ? ['"->"', '"::"', '"."', '")"', '","', 'end of input']
        : ['letter', 'digit', '"-"', '"->>"', '"->"', '"::"', '"."', '")"', '","', 'end of input'],
    );
  }
  return {
    kind: 'field',
    field: fld,
    ...(fieldAlias !== undefined ? { alias: fieldAlias } : {}),
    ...(cast !== undefined ? { cast } : {}),
    ...(aggregate !== undefined ? { aggregate } : {}),
    ...(aggregateCast !== undefined ? { aggregateCast } : {}),
  };
}

function requireIdentifier(c: Cursor): string {
  const name = identifier(c);
  if (name === undefined || name === '') c.fail(['letter or digit']);
  return name;
}

/** pFieldForest, optionally between parentheses. */
function forest(c: Cursor, parenthesised: boolean): SelectItem[] {
  if (parenthesised) c.expect('(');
  const items: SelectItem[] = [];
  c.spaces();
  const empty = parenthesised ? c.peek() === ')' : c.done;
  if (!empty) {
    for (;;) {
      items.push(selectItem(c));
      c.spaces();
      if (!c.eat(',')) break;
      c.spaces();
    }
  }
  if (parenthesised) c.expect(')');
  return items;
}

const SIMPLE: SimpleOperator[] = ['neq', 'cs', 'cd', 'ov', 'sl', 'sr', 'nxr', 'nxl', 'adj'];
const QUANT: QuantOperator[] = ['eq', 'gte', 'gt', 'lte', 'lt', 'like', 'ilike', 'match', 'imatch'];
const FTS: FtsOperator[] = ['fts', 'plfts', 'phfts', 'wfts'];
const OPERATOR = 'operator (eq, gt, ...)';

/** pOpExpr with a value parser (the rest of the string, or the logic tree's value). */
function opExpr(c: Cursor, value: (c: Cursor) => string): OpExpr {
  let negated = false;
  if (c.startsWith('not.')) {
    negated = true;
    c.pos += 4;
  }
  const start = c.pos;
  // Parsec reports a failed `string` at its start, unexpected being the first character
  // that differs; of the alternatives failing there, the first tried names it ("not",
  // else "in"). An operator name followed by no delimiter fails further on, and that
  // furthest failure wins.
  const fail = (): never => {
    const rest = c.text.slice(start);
    const longest = [...SIMPLE, ...QUANT, ...FTS, 'in', 'is', 'isdistinct'].filter((op) => rest.startsWith(op)).sort((a, b) => b.length - a.length)[0];
    if (longest !== undefined) {
      c.pos = start + longest.length;
      c.fail(['delimiter (.)']);
    }
    throw new Failure(start, mismatch(rest, negated ? 'in' : 'not'), negated ? [OPERATOR] : ['"not"', OPERATOR]);
  };
  if (c.startsWith('in.')) {
    c.pos += 3;
    return { negated, operation: { kind: 'in', values: listValue(c) } };
  }
  if (c.startsWith('is.')) {
    c.pos += 3;
    const rest = c.text.slice(c.pos);
    for (const v of ['null', 'not_null', 'true', 'false', 'unknown'] as const) {
      // Each letter of the value in either case, as PostgREST's ciString.
      if (rest.slice(0, v.length).toLowerCase() === v && rest.slice(0, v.length).split('').every((ch, i) => ch === v[i] || ch === v[i]!.toUpperCase())) {
        c.pos += v.length;
        return { negated, operation: { kind: 'is', value: v } };
      }
    }
    c.fail(['isVal: (null, not_null, true, false, unknown)']);
  }
  if (c.startsWith('isdistinct.')) {
    c.pos += 'isdistinct.'.length;
    return { negated, operation: { kind: 'isdistinct', value: value(c) } };
  }
  for (const op of FTS) {
    if (!c.startsWith(op)) continue;
    const save = c.pos;
    c.pos += op.length;
    let language: string | undefined;
    if (c.peek() === '(') {
      const close = c.text.indexOf(')', c.pos);
      const lang = close > c.pos + 1 ? c.text.slice(c.pos + 1, close) : '';
      if (lang && [...lang].every((ch) => IDENTIFIER_CHAR.test(ch))) {
        language = lang.trim();
        c.pos = close + 1;
      }
    }
    if (c.eat('.')) return { negated, operation: { kind: 'fts', operator: op, ...(language !== undefined ? { language } : {}), value: value(c) } };
    c.pos = save;
  }
  for (const op of SIMPLE) {
    if (c.startsWith(`${op}.`)) {
      c.pos += op.length + 1;
      return { negated, operation: { kind: 'simple', operator: op, value: value(c) } };
    }
  }
  for (const op of QUANT) {
    if (!c.startsWith(op)) continue;
    const save = c.pos;
    c.pos += op.length;
    let quantifier: 'any' | 'all' | undefined;
    if (c.eat('(any)')) quantifier = 'any';
    else if (c.eat('(all)')) quantifier = 'all';
    if (c.eat('.')) return { negated, operation: { kind: 'quant', operator: op, ...(quantifier ? { quantifier } : {}), value: value(c) } };
    c.pos = save;
  }
  return fail();
}

function restValue(c: Cursor): string {
  const v = c.text.slice(c.pos);
  c.pos = c.text.length;
  return v;
}

/** pListVal: `(a,"b,c",d)`. */
function listValue(c: Cursor): string[] {
  c.spaces();
  c.expect('(');
  c.spaces();
  const values: string[] = [];
  for (;;) {
    values.push(listElement(c));
    if (!c.eat(',')) break;
  }
  c.spaces();
  c.expect(')');
  c.spaces();
  return values;
}

/** A quoted value that ends the element (followed by `,`, `)` or the end); else undefined, the cursor unmoved. */
function quotedElement(c: Cursor): string | undefined {
  const save = c.pos;
  try {
    const q = quoted(c);
    if (q !== undefined && (c.done || c.peek() === ',' || c.peek() === ')')) return q;
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
  }
  c.pos = save;
  return undefined;
}

function listElement(c: Cursor): string {
  const q = quotedElement(c);
  if (q !== undefined) return q;
  const start = c.pos;
  while (!c.done && c.peek() !== ',' && c.peek() !== ')') c.pos++;
  return c.text.slice(start, c.pos);
}

/** pLogicSingleVal: a quoted value, a `{...}` array literal, or up to `,` or `)`. */
function logicValue(c: Cursor): string {
  const q = quotedElement(c);
  if (q !== undefined) return q;
  if (c.peek() === '{') {
    const close = c.text.indexOf('}', c.pos);
    const inner = close === -1 ? '' : c.text.slice(c.pos + 1, close);
    if (close !== -1 && !inner.includes('{')) {
      c.pos = close + 1;
      return `{${inner}}`;
    }
  }
  const start = c.pos;
  while (!c.done && c.peek() !== ',' && c.peek() !== ')') c.pos++;
  return c.text.slice(start, c.pos);
}

/** pLogicTree: `and(...)`, `not.or(...)`, or a filter `col.op.value`. */
function logicTree(c: Cursor): LogicTree {
  const start = c.pos;
  let filterFailure: Failure | undefined;
  try {
    const fld = field(c);
    if (c.eat('.')) return { kind: 'filter', filter: { field: fld, expr: opExpr(c, logicValue) } };
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    filterFailure = error;
  }
  c.pos = start;
  try {
    return logicExpr(c);
  } catch (error) {
    // Parsec reports the failure that got furthest into the input.
    if (error instanceof Failure && filterFailure && filterFailure.position > error.position) throw filterFailure;
    throw error;
  }
}

function logicExpr(c: Cursor): LogicTree {
  let negated = false;
  if (c.startsWith('not.')) {
    negated = true;
    c.pos += 4;
  }
  let operator: 'and' | 'or';
  if (c.eat('and')) operator = 'and';
  else if (c.eat('or')) operator = 'or';
  else c.fail(negated ? ['logic operator (and, or)'] : [FIELD_NAME, 'negation operator (not)', 'logic operator (and, or)']);
  c.spaces();
  if (!c.eat('(')) c.fail(['"("']);
  c.spaces();
  const children: LogicTree[] = [];
  for (;;) {
    if (c.peek() === ')' && children.length === 0) c.fail([FIELD_NAME, 'negation operator (not)', 'logic operator (and, or)']);
    children.push(logicTree(c));
    c.spaces();
    if (!c.eat(',')) break;
    c.spaces();
  }
  c.spaces();
  c.expect(')');
  c.spaces();
  return { kind: 'expr', negated, operator, children };
}

/** pOrder: `col[.asc|.desc][.nullsfirst|.nullslast]`, `rel(col)...`, comma-separated. */
function orderTerms(c: Cursor): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (;;) {
    c.spaces();
    const start = c.pos;
    let relation: string | undefined;
    const name = fieldName(c);
    let fld: Field;
    if (name !== undefined && c.peek() === '(') {
      relation = name;
      c.pos++;
      fld = field(c);
      c.expect(')');
    } else {
      c.pos = start;
      fld = field(c);
    }
    let direction: 'asc' | 'desc' | undefined;
    let nulls: 'nullsfirst' | 'nullslast' | undefined;
    const atEnd = () => c.done || c.peek() === ',';
    if (c.startsWith('.asc')) {
      direction = 'asc';
      c.pos += 4;
    } else if (c.startsWith('.desc')) {
      direction = 'desc';
      c.pos += 5;
    }
    if (c.startsWith('.nullsfirst')) {
      nulls = 'nullsfirst';
      c.pos += 11;
    } else if (c.startsWith('.nullslast')) {
      nulls = 'nullslast';
      c.pos += 10;
    }
    if (!atEnd()) {
      if (c.peek() === '.' && nulls === undefined) {
        const word = c.text.slice(c.pos + 1);
        const first = direction === undefined ? 'asc' : 'nullsfirst';
        throw new Failure(c.pos + 1, mismatch(word, first), direction === undefined ? ['"asc"', '"desc"', '"nullsfirst"', '"nullslast"'] : ['"nullsfirst"', '"nullslast"']);
      }
      c.fail(nulls !== undefined ? ['","', 'end of input'] : ['delimiter (.)', '","', 'end of input']);
    }
    const dir = direction !== undefined ? { direction } : {};
    const nl = nulls !== undefined ? { nulls } : {};
    terms.push(relation !== undefined ? { kind: 'relation', relation, field: fld, ...dir, ...nl } : { kind: 'field', field: fld, ...dir, ...nl });
    c.spaces();
    if (!c.eat(',')) break;
  }
  return terms;
}

/** pTreePath: `a.b.col->json` → path [a, b], field col. */
function treePath(c: Cursor): { path: string[]; field: Field } {
  const names = [requireFieldName(c)];
  while (c.eat('.')) names.push(requireFieldName(c));
  const path = jsonPath(c);
  if (!c.done) c.fail(['letter', 'digit', '"-"', '"->>"', '"->"', 'delimiter (.)', 'end of input']);
  const name = names.pop()!;
  return { path: names, field: { name, jsonPath: path } };
}

/** Haskell's `show` of a String, which PostgREST's messages use for the parameter. */
export function haskellShow(text: string): string {
  const names = ['NUL', 'SOH', 'STX', 'ETX', 'EOT', 'ENQ', 'ACK', 'a', 'b', 't', 'n', 'v', 'f', 'r', 'SO', 'SI', 'DLE', 'DC1', 'DC2', 'DC3', 'DC4', 'NAK', 'SYN', 'ETB', 'CAN', 'EM', 'SUB', 'ESC', 'FS', 'GS', 'RS', 'US'];
  let out = '"';
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const code = ch.codePointAt(0)!;
    const next = chars[i + 1];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (code >= 32 && code < 127) out += ch;
    else if (code < 32) {
      out += `\\${names[code]}`;
      if (names[code] === 'SO' && next === 'H') out += '\\&';
    } else {
      out += code === 127 ? '\\DEL' : `\\${code}`;
      if (code !== 127 && next !== undefined && /[0-9]/.test(next)) out += '\\&';
    }
  }
  return `${out}"`;
}

/** Parsec's position (1-based line and column; a tab moves to the next multiple of 8, plus 1). */
function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (const ch of [...text.slice(0, position)]) {
    if (ch === '\n') {
      line++;
      column = 1;
    } else if (ch === '\t') column = column + 8 - ((column - 1) % 8);
    else column++;
  }
  return { line, column };
}

function run<T>(source: string, text: string, parse: (c: Cursor) => T): T {
  const c = new Cursor(text);
  try {
    const value = parse(c);
    if (!c.done) c.fail(['end of input']);
    return value;
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    throw toPgrstError(source, text, error);
  }
}

function toPgrstError(source: string, text: string, failure: Failure): PgrstError {
  const { line, column } = lineColumn(text, failure.position);
  const expecting = failure.expecting;
  const list = expecting.length <= 1 ? (expecting[0] ?? '') : `${expecting.slice(0, -1).join(', ')} or ${expecting.at(-1)}`;
  const details = `unexpected ${failure.unexpected}${list ? ` expecting ${list}` : ''}`;
  return queryParamError(`${haskellShow(source)} (line ${line}, column ${column})`, details);
}

/** Parses `select=` (an empty value selects nothing; PostgREST's default is `*`). */
export function parseSelect(value: string): SelectItem[] {
  return run(`failed to parse select parameter (${value})`, value, (c) => forest(c, false));
}

/** Parses a filter's value (`eq.1`, `not.in.(1,2)`, ...). */
export function parseFilterValue(value: string): OpExpr {
  return run(`failed to parse filter (${value})`, value, (c) => opExpr(c, restValue));
}

/** Parses an `order=` value. */
export function parseOrder(value: string): OrderTerm[] {
  return run(`failed to parse order (${value})`, value, orderTerms);
}

/** Parses an `or=`/`and=` value given the key's operator (`or`, `not.and`, ...). */
export function parseLogicTree(operator: string, value: string): LogicTree {
  const text = `${operator}${value}`;
  return run(`failed to parse logic tree (${value})`, text, logicTree);
}

function parseTreePath(key: string): { path: string[]; field: Field } {
  return run(`failed to parse tree path (${key})`, key, treePath);
}

function parseLogicPath(key: string): { path: string[]; operator: string } {
  const names = run(`failed to parse logic path (${key})`, key, (c) => {
    const parts = [requireFieldName(c)];
    while (c.eat('.')) parts.push(requireFieldName(c));
    return parts;
  });
  const op = names.at(-1)!;
  const negated = names.slice(0, -1).includes('not');
  return { path: names.slice(0, -1).filter((n) => n !== 'not'), operator: negated ? `not.${op}` : op };
}

function parseColumns(source: string, value: string): string[] {
  return run(source, value, (c) => {
    const names = [requireFieldName(c)];
    for (;;) {
      c.spaces();
      if (!c.eat(',')) break;
      c.spaces();
      names.push(requireFieldName(c));
    }
    return names;
  });
}

/**
 * Decodes a query string as PostgREST does (`+` is a space in names and values, a name
 * without `=` has no value).
 */
export function decodeQueryString(query: string): [string, string | undefined][] {
  if (query === '') return [];
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const decode = (s: string) => {
      const plus = s.replace(/\+/g, ' ');
      try {
        return decodeURIComponent(plus);
      } catch {
        // PostgREST keeps malformed escapes as they are.
        return plus.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      }
    };
    return eq === -1 ? [decode(pair), undefined] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

/**
 * Network.HTTP.Base's urlEncode over the bytes of a UTF-8 string, as PostgREST's
 * canonical query string has it (each byte of a non-ASCII character is encoded again
 * as UTF-8).
 */
function haskellUrlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (byte < 128) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function canonicalQuery(pairs: [string, string | undefined][]): string {
  const sorted = pairs.map(([k, v]) => [k, v ?? ''] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts: string[] = [];
  const done = new Set<number>();
  for (let i = 0; i < sorted.length; i++) {
    if (done.has(i)) continue;
    const [key, value] = sorted[i]!;
    const values = [haskellUrlEncode(value)];
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j]![0] === key) {
        values.push(haskellUrlEncode(sorted[j]![1]));
        done.add(j);
      }
    }
    parts.push(`${haskellUrlEncode(key)}=${values.join(',')}`);
  }
  return parts.join('&');
}

const RESERVED = new Set(['select', 'columns', 'on_conflict']);
const RESERVED_EMBEDDABLE = new Set(['order', 'limit', 'offset', 'and', 'or']);

function lastWord(key: string): string {
  return key.split('.').at(-1)!;
}

/** PostgREST reads limit and offset with `readMaybe`: anything but an integer is ignored. */
function readInteger(value: string): number | undefined {
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Parses a request's query string into PostgREST's QueryParams; throws a PGRST100
 * PgrstError for a malformed value.
 *
 * @example
 * const params = parseQueryParams('select=id,name&id=eq.1&order=name.desc');
 */
export function parseQueryParams(query: string, options: { rpcRead?: boolean } = {}): QueryParams {
  const pairs = decodeQueryString(query);
  const nonEmpty = pairs.filter((p): p is [string, string] => p[1] !== undefined);
  const lookup = (name: string) => pairs.find(([k]) => k === name)?.[1];

  const order = nonEmpty
    .filter(([k]) => lastWord(k) === 'order')
    .map(([k, v]) => ({ path: parseTreePath(k).path, terms: parseOrder(v) }));
  const logic = nonEmpty
    .filter(([k]) => lastWord(k) === 'and' || lastWord(k) === 'or')
    .map(([k, v]) => {
      const { path, operator } = parseLogicPath(k);
      return { path, tree: parseLogicTree(operator, v) };
    });
  const columnsValue = lookup('columns');
  const columns = columnsValue !== undefined ? parseColumns(`failed to parse columns parameter (${columnsValue})`, columnsValue) : undefined;
  const select = parseSelect(lookup('select') ?? '*');
  // A GET on a function: a value that is no operator expression is an argument (QueryParams.hs, pRequestFilter isRpcRead).
  const rpcArgs: [string, string][] = [];
  const filters = nonEmpty
    .filter(([k]) => !RESERVED_EMBEDDABLE.has(lastWord(k)) && !RESERVED.has(k))
    .flatMap(([k, v]) => {
      const { path, field: fld } = parseTreePath(k);
      let expr: OpExpr;
      try {
        expr = parseFilterValue(v);
      } catch (error) {
        if (!options.rpcRead) throw error;
        rpcArgs.push([fld.name, v]);
        return [];
      }
      return [{ path, filter: { field: fld, expr } }];
    });
  const onConflictValue = lookup('on_conflict');
  const onConflict = onConflictValue !== undefined ? parseColumns(`failed to parse on_conflict parameter (${onConflictValue})`, onConflictValue) : undefined;

  const ranges = new Map<string, Range>();
  const limits = new Map<string, string>();
  const offsets = new Map<string, string>();
  for (const [k, v] of nonEmpty) {
    const word = lastWord(k);
    const base = k.split('.').slice(0, -1);
    if (word === 'limit') limits.set([...base, 'limit'].join('.'), v);
    if (word === 'offset') offsets.set([...base, 'limit'].join('.'), v);
  }
  for (const key of new Set([...limits.keys(), ...offsets.keys()])) {
    const limitValue = limits.get(key);
    const offsetValue = offsets.get(key);
    const limit = limitValue !== undefined ? readInteger(limitValue) : undefined;
    const offset = offsetValue !== undefined ? (readInteger(offsetValue) ?? 0) : 0;
    ranges.set(key, { offset, ...(limit !== undefined ? { limit } : {}) });
  }

  return {
    canonical: canonicalQuery(pairs),
    select,
    filters,
    logic,
    order,
    ranges,
    ...(columns ? { columns } : {}),
    ...(onConflict ? { onConflict } : {}),
    ...(options.rpcRead ? { rpcArgs } : {}),
  };
}
