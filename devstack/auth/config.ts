/**
 * Local Auth settings read from the Supabase CLI project (`supabase/config.toml`), so the
 * Docker-free devstack behaves like `supabase start` with the same file. The keys read are
 * the ones the CLI hands GoTrue (supabase/cli internal/start/start.go, buildGotrueEnv):
 * `[auth]` site_url, additional_redirect_urls, jwt_expiry, enable_signup,
 * enable_anonymous_sign_ins, minimum_password_length, password_requirements,
 * enable_refresh_token_rotation, refresh_token_reuse_interval; `[auth.email]`
 * enable_signup, enable_confirmations, double_confirm_changes, secure_password_change,
 * max_frequency, otp_length, otp_expiry; `[auth.sessions]` timebox, inactivity_timeout.
 * `[auth.rate_limit]` is not read: GoTrue applies its per-IP limits only behind a
 * configured rate-limit header, which `supabase start` does not set. Only plain literals
 * are read; a missing key keeps the CLI's default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../db/setup.ts';
import { tomlLiteralSections, type TomlLiteral } from '../config/supabase-config.ts';
import type { AuthServerOptions } from './server.ts';


/**
 * `key = value` literals (integers, booleans, strings, arrays of strings) of each `[section]` of a
 * TOML file, parsed by devstack/config/supabase-config.ts; other values are skipped.
 *
 * @example
 * tomlSections('[api]\nschemas = ["public", "graphql_public"]').get('api')?.get('schemas');
 * // ['public', 'graphql_public']
 */
export function tomlSections(text: string): Map<string, Map<string, TomlLiteral>> {
  return tomlLiteralSections(text);
}

/** The character sets of `password_requirements` (supabase/cli pkg/config/auth.go, ToChar). */
const PASSWORD_REQUIREMENTS: Record<string, string[]> = {
  '': [],
  letters_digits: ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'],
  lower_upper_letters_digits: ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'],
  lower_upper_letters_digits_symbols: [
    'abcdefghijklmnopqrstuvwxyz',
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    '0123456789',
    '!@#$%^&*()_+-=[]{};\'\\:"|<>?,./`~',
  ],
};

/**
 * Seconds in a Go duration ("1s", "24h", "1h30m"); undefined when it is not one.
 *
 * @example
 * goDurationSeconds('1h30m') // 5400
 */
export function goDurationSeconds(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return text === '0' ? 0 : undefined;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, value, , name] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g)) total += Number(value) * unit[name!]!;
  return total;
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
  const email = sections.get('auth.email') ?? new Map();
  const sessions = sections.get('auth.sessions') ?? new Map();
  const number = (section: Map<string, TomlLiteral>, key: string) => {
    const value = section.get(key);
    return typeof value === 'number' && value >= 0 ? value : undefined;
  };
  const flag = (section: Map<string, TomlLiteral>, key: string) => {
    const value = section.get(key);
    return typeof value === 'boolean' ? value : undefined;
  };
  const string = (section: Map<string, TomlLiteral>, key: string) => {
    const value = section.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  const duration = (section: Map<string, TomlLiteral>, key: string) => {
    const value = string(section, key);
    return value === undefined ? undefined : goDurationSeconds(value);
  };
  const requirements = string(auth, 'password_requirements');
  const redirects = auth.get('additional_redirect_urls');
  const options: Partial<AuthServerOptions> = {
    siteUrl: string(auth, 'site_url'),
    additionalRedirectUrls: Array.isArray(redirects) ? redirects : undefined,
    jwtExpirySeconds: number(auth, 'jwt_expiry'),
    refreshTokenReuseIntervalSeconds: number(auth, 'refresh_token_reuse_interval'),
    enableRefreshTokenRotation: flag(auth, 'enable_refresh_token_rotation'),
    minimumPasswordLength: number(auth, 'minimum_password_length'),
    requiredCharacters: requirements !== undefined ? PASSWORD_REQUIREMENTS[requirements] : undefined,
    enableSignup: flag(auth, 'enable_signup'),
    enableAnonymousSignIns: flag(auth, 'enable_anonymous_sign_ins'),
    enableEmailProvider: flag(email, 'enable_signup'),
    enableConfirmations: flag(email, 'enable_confirmations'),
    doubleConfirmChanges: flag(email, 'double_confirm_changes'),
    securePasswordChange: flag(email, 'secure_password_change'),
    maxFrequencySeconds: duration(email, 'max_frequency'),
    otpLength: number(email, 'otp_length'),
    otpExpirySeconds: number(email, 'otp_expiry'),
    sessionTimeboxSeconds: duration(sessions, 'timebox'),
    sessionInactivityTimeoutSeconds: duration(sessions, 'inactivity_timeout'),
  };
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
