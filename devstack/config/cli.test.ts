/**
 * The commands' flags and environment: a mistyped flag or a bad value stops the command
 * with one line naming it, instead of being ignored.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repoRoot } from '../db/setup.ts';
import { integerText, integerVar, listVar, optionalPortVar, parseEnv, parseFlags, portVar, UsageError } from './cli.ts';

describe('parseFlags', () => {
  const options = { seed: { type: 'boolean', default: false }, jobs: { type: 'string' } } as const;

  it('reads known flags', () => {
    expect(parseFlags(['--seed', '--jobs', '5'], options).values).toEqual({ seed: true, jobs: '5' });
    expect(parseFlags([], options).values).toEqual({ seed: false });
  });

  it.each([
    [['--sed'], /^Unknown option '--sed' \(flags: --seed, --jobs\)$/],
    [['--jobs'], /^Option '--jobs <value>' argument missing/],
    [['--seed=yes'], /^Option '--seed' does not take an argument/],
    [['extra'], /^Unexpected argument 'extra'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseFlags(argv, options)).toThrow(UsageError);
    expect(() => parseFlags(argv, options)).toThrow(message);
  });

  it('refuses any flag where a command takes none', () => {
    expect(() => parseFlags(['--port=1'], {})).toThrow("Unknown option '--port' (it takes no flags)");
  });
});

describe('parseEnv', () => {
  const schema = z.object({ PORT: portVar(54332), EXTRA: optionalPortVar(), RUNS: integerVar(200), SIZES: listVar(integerText()) });

  it('applies defaults for unset and empty variables and parses the rest', () => {
    expect(parseEnv(schema, {})).toEqual({ PORT: 54332, EXTRA: undefined, RUNS: 200, SIZES: undefined });
    expect(parseEnv(schema, { PORT: '', EXTRA: '8080', RUNS: '10_000', SIZES: '1, 8,32' })).toEqual({ PORT: 54332, EXTRA: 8080, RUNS: 10_000, SIZES: [1, 8, 32] });
  });

  it.each([
    [{ PORT: '65536' }, 'PORT must be a port number (1-65535), got "65536"'],
    [{ EXTRA: '80a' }, 'EXTRA must be a port number (1-65535), got "80a"'],
    [{ RUNS: '0' }, 'RUNS must be a whole number of at least 1, got "0"'],
    [{ RUNS: '2.5' }, 'RUNS must be a whole number of at least 1, got "2.5"'],
    [{ SIZES: '1,x' }, 'SIZES.1 must be a whole number of at least 1, got "1,x"'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => parseEnv(schema, env)).toThrow(new UsageError(message));
  });
});

describe('the commands', () => {
  const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

  it.each([
    ['devstack/db/setup.ts', ['--sed'], "db:setup: Unknown option '--sed' (flags: --seed, --without-default-privileges)"],
    ['devstack/dev.ts', ['--supbase'], "npm run dev: Unknown option '--supbase' (flags: --supabase, --functions)"],
  ])('%s %j exits 2 with one line before starting anything', (script, argv, line) => {
    const run = spawnSync(tsx, [join(repoRoot, script), ...argv], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(line);
  });
});
