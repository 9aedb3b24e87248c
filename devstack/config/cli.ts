/**
 * How the devstack's and the benchmarks' commands read their input: flags with
 * `node:util` `parseArgs` in strict mode (an unknown or mistyped flag is refused, never
 * ignored) and environment variables with a zod schema. A problem is one line on stderr
 * and exit status 2, before anything starts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

/** A refused command line or environment: the message is one line meant for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * The flags of `argv`, parsed strictly; positionals only when `allowPositionals`.
 *
 * @example
 * parseFlags(['--seed'], { seed: { type: 'boolean' } }).values.seed // true
 * parseFlags(['--sed'], { seed: { type: 'boolean' } }) // throws UsageError: Unknown option '--sed'…
 */
export function parseFlags<const O extends FlagOptions>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    const known = Object.keys(options).map((name) => `--${name}`);
    const hint = known.length > 0 ? ` (flags: ${known.join(', ')})` : ' (it takes no flags)';
    throw new UsageError(`${(error as Error).message.split('. To specify a positional')[0]}${hint}`);
  }
}

/**
 * The environment variables of `schema`, parsed; a bad one is a UsageError naming it.
 *
 * @example
 * parseEnv(z.object({ PORT: portVar(54332) }), process.env).PORT // 54332 when PORT is unset
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.join('.');
  const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
  throw new UsageError(`${name} ${issue.message}${value === undefined ? '' : `, got ${JSON.stringify(value)}`}`);
}

/** An empty variable counts as unset, as the commands always treated it. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

interface Range {
  min?: number;
  max?: number;
  /** The message of a value out of range or not a number. */
  error?: string;
}

/** A whole number written as text (underscores allowed, `10_000`) in a range. */
export function integerText({ min = 1, max = Number.MAX_SAFE_INTEGER, error }: Range = {}) {
  const message = error ?? (max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`);
  return z
    .string()
    .regex(/^-?\d[\d_]*$/, { error: message })
    .transform((raw) => Number(raw.replaceAll('_', '')))
    .pipe(z.number().int().min(min, { error: message }).max(max, { error: message }));
}

/**
 * A whole-number variable (underscores allowed, `10_000`) in a range; `fallback` when unset.
 *
 * @example
 * z.object({ TANDEM_BENCH_RUNS: integerVar(200) })
 */
export function integerVar(fallback: number, range: Range = {}) {
  return z.preprocess(unsetIfEmpty, integerText(range).default(fallback));
}

/** A whole-number variable in a range, undefined when unset. */
export function optionalIntegerVar(range: Range = {}) {
  return z.preprocess(unsetIfEmpty, integerText(range).optional());
}

const PORT: Range = { min: 1, max: 65535, error: 'must be a port number (1-65535)' };

/** A TCP port variable; `fallback` when unset. */
export const portVar = (fallback: number) => integerVar(fallback, PORT);

/** A TCP port variable, undefined when unset. */
export const optionalPortVar = () => optionalIntegerVar(PORT);

/**
 * A comma-separated list variable, each item checked by `item`; undefined when unset.
 *
 * @example
 * z.object({ TANDEM_BENCH_CONCURRENCIES: listVar(integerText()) }) // "1,8,32" → [1, 8, 32]
 */
export function listVar<T>(item: z.ZodType<T, string>) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((raw) => raw.split(',').map((part) => part.trim()))
      .pipe(z.array(item))
      .optional(),
  );
}

/** An optional text variable (undefined when unset or empty). */
export const textVar = () => z.preprocess(unsetIfEmpty, z.string().optional());

/**
 * Runs a command's main: a UsageError prints `<command>: <message>` and exits 2, any other
 * error prints its message and exits 1.
 *
 * @example
 * runCommand('db:setup', main);
 */
export function runCommand(command: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const usage = error instanceof UsageError;
    const failure = error as { stderr?: string; message?: string };
    const text = usage ? `${command}: ${failure.message}` : failure.stderr || failure.message || String(error);
    process.stderr.write(`${text}\n`);
    process.exit(usage ? 2 : 1);
  });
}
