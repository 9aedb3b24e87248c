/**
 * supabase/config.toml as the devstack reads it: the repository's file, TOML the old line
 * reader got wrong, and files `supabase start` would refuse.
 */
import { describe, expect, it } from 'vitest';
import { apiSettings, loadSupabaseConfig, parseSupabaseConfig, SupabaseConfigError, tomlLiteralSections } from './supabase-config.ts';

describe('supabase/config.toml', () => {
  it("reads the repository's [api], [auth] and [functions] settings", () => {
    expect(apiSettings()).toEqual({ schemas: ['public', 'graphql_public'], extraSearchPath: ['public', 'extensions'], maxRows: 1000, port: 54321 });
    const config = loadSupabaseConfig();
    expect(config.auth).toMatchObject({ jwt_expiry: 3600, minimum_password_length: 8, rate_limit: { token_refresh: 150 } });
    expect(config.functions?.jobs).toMatchObject({ verify_jwt: false, entrypoint: '../edge-functions/jobs/index.ts' });
    expect(loadSupabaseConfig()).toBe(config);
  });

  it('parses multi-line arrays, literal strings, dotted keys and inline tables', () => {
    const text = [
      '[api]',
      "schemas = [",
      "  'public', # the default",
      '  "api",',
      ']',
      'max_rows = 1_000',
      'auth.rate_limit = { token_refresh = 5 }',
    ].join('\n');
    const config = parseSupabaseConfig(text.replace('auth.rate_limit', 'x.y'));
    expect(apiSettings(config)).toEqual({ schemas: ['public', 'api'], extraSearchPath: [], maxRows: 1000, port: undefined });
    const sections = tomlLiteralSections(text);
    expect(sections.get('api')?.get('schemas')).toEqual(['public', 'api']);
    expect(sections.get('api.auth.rate_limit')?.get('token_refresh')).toBe(5);
  });

  it('keeps the CLI-owned sections and keys it does not check', () => {
    const config = parseSupabaseConfig('[studio]\nport = 54323\n[api]\ntls.enabled = true');
    expect(config).toMatchObject({ studio: { port: 54323 }, api: { tls: { enabled: true } } });
    expect(apiSettings(parseSupabaseConfig(''))).toEqual({ schemas: [], extraSearchPath: [], maxRows: undefined, port: undefined });
  });

  it.each([
    ['[api]\nschemas = ["public"\n', /^supabase\/config.toml: line 3, column \d+: /],
    ['[api]\nmax_rows = 1\nmax_rows = 2', /^supabase\/config.toml: line 3, column \d+: .*redefine/],
    ['[api]\n[api]', /^supabase\/config.toml: line 2, column \d+: .*redefine/],
    ['[api]\nmax_rows = "x"', /^supabase\/config.toml: api.max_rows: /],
    ['[api]\nmax_rows = -1', /^supabase\/config.toml: api.max_rows: /],
    ['[api]\nschemas = "public"', /^supabase\/config.toml: api.schemas: /],
    ['[auth]\nenable_signup = "yes"', /^supabase\/config.toml: auth.enable_signup: /],
    ['[functions.jobs]\nverify_jwt = 0', /^supabase\/config.toml: functions.jobs.verify_jwt: /],
  ])('refuses %j with one line naming where', (text, message) => {
    const error = (() => {
      try {
        parseSupabaseConfig(text);
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(SupabaseConfigError);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});
