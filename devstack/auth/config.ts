/**
 * Local Auth settings read from the Supabase CLI project (`supabase/config.toml`), so the
 * Docker-free devstack behaves like `supabase start` with the same file: the `[auth]`
 * keys `jwt_expiry`, `refresh_token_reuse_interval`, `enable_signup`,
 * `minimum_password_length`, and `[auth.rate_limit]` `sign_in_sign_ups` and
 * `token_refresh` (requests per 5 minutes per IP). Only these plain literals are read; a
 * missing key keeps local Auth's default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../db/setup.ts';
import { tomlLiteralSections, type TomlLiteral } from '../config/supabase-config.ts';
import type { AuthServerOptions } from './server.ts';

const FIVE_MINUTES_MS = 5 * 60_000;

/**
 * `key = value` literals (integers, booleans, arrays of strings) of each `[section]` of a
 * TOML file, parsed by devstack/config/supabase-config.ts; other values are skipped.
 *
 * @example
 * tomlSections('[api]\nschemas = ["public", "graphql_public"]').get('api')?.get('schemas');
 * // ['public', 'graphql_public']
 */
export function tomlSections(text: string): Map<string, Map<string, TomlLiteral>> {
  return tomlLiteralSections(text);
}

/**
 * The local Auth options that `config.toml` text sets.
 *
 * @example
 * const options = authOptionsFromConfigToml(readFileSync('supabase/config.toml', 'utf8'));
 * // { jwtExpirySeconds: 3600, refreshTokenReuseIntervalSeconds: 10, minimumPasswordLength: 8, ... }
 */
export function authOptionsFromConfigToml(text: string): Partial<AuthServerOptions> {
  const sections = tomlSections(text);
  const auth = sections.get('auth') ?? new Map();
  const limits = sections.get('auth.rate_limit') ?? new Map();
  const number = (section: Map<string, TomlLiteral>, key: string) => {
    const value = section.get(key);
    return typeof value === 'number' && value >= 0 ? value : undefined;
  };
  const options: Partial<AuthServerOptions> = {
    jwtExpirySeconds: number(auth, 'jwt_expiry'),
    refreshTokenReuseIntervalSeconds: number(auth, 'refresh_token_reuse_interval'),
    minimumPasswordLength: number(auth, 'minimum_password_length'),
    enableSignup: typeof auth.get('enable_signup') === 'boolean' ? (auth.get('enable_signup') as boolean) : undefined,
  };
  // A limit must let at least one request through; anything else keeps the default.
  const positive = (value: number | undefined) => (value !== undefined && value >= 1 ? value : undefined);
  const signUp = positive(number(limits, 'sign_in_sign_ups'));
  const token = positive(number(limits, 'token_refresh'));
  if (signUp !== undefined || token !== undefined) {
    options.rateLimits = {
      signUp: signUp !== undefined ? { max: signUp, windowMs: FIVE_MINUTES_MS } : undefined,
      token: token !== undefined ? { max: token, windowMs: FIVE_MINUTES_MS } : undefined,
    };
  }
  for (const key of Object.keys(options) as (keyof AuthServerOptions)[]) if (options[key] === undefined) delete options[key];
  return options;
}

/**
 * The options of this repository's `supabase/config.toml` (none if it is missing).
 *
 * @example
 * const auth = await createAuthServer({ databaseUrl, ...projectAuthOptions() });
 */
export function projectAuthOptions(path = join(repoRoot, 'supabase', 'config.toml')): Partial<AuthServerOptions> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  return authOptionsFromConfigToml(text);
}
