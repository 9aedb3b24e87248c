/**
 * client/database.types.ts is what Supabase's generator prints for the schema: postgres-meta,
 * the version the pinned CLI runs for `supabase gen types`, run as the CLI runs it
 * (devstack/types/generate.ts) against the test database (migrated from the working tree).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot, supabaseBin } from '../../devstack/db/setup.ts';
import { DATABASE_TYPES_PATH, generateDatabaseTypes, includedSchemas } from '../../devstack/types/generate.ts';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

describe('client/database.types.ts', () => {
  it('is up to date with the schema (run `npm run gen:types` if not)', async () => {
    const generated = await generateDatabaseTypes(inject('databaseUrl'));
    const committed = readFileSync(DATABASE_TYPES_PATH, 'utf8');
    expect(committed, 'client/database.types.ts is stale: DATABASE_URL=<db:setup database> npm run gen:types').toBe(generated);
    // The generator reads the catalog, not a fixed list: the contract's names must be there.
    for (const name of ['profiles: {', 'projects: {', 'project_members: {', 'project_invitations: {', 'jobs: {', 'create_invitation:', 'my_invitations:', 'retry_job:']) {
      expect(generated).toContain(name);
    }
    expect(generated).toContain('project_role: "owner" | "collaborator" | "viewer"');
  });

  it('comes from the postgres-meta version the pinned CLI runs', async () => {
    const { stdout } = await promisify(execFile)(supabaseBin, ['services', '-o', 'json'], {
      cwd: repoRoot,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      encoding: 'utf8',
    });
    const services = JSON.parse(stdout) as Array<{ name: string; local: string }>;
    const pgMeta = services.find((service) => service.name === 'supabase/postgres-meta');
    expect(pgMeta, stdout).toBeDefined();
    const pinned = manifest.devDependencies['@supabase/postgres-meta'];
    expect(`v${pinned}`, 'pin @supabase/postgres-meta to the image `supabase services` lists').toBe(pgMeta!.local);
    const installed = JSON.parse(readFileSync(join(repoRoot, 'node_modules', '@supabase', 'postgres-meta', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(pinned);
  });

  it("includes public and config.toml's [api] schemas, as the CLI does without --schema", () => {
    expect(includedSchemas()).toEqual(['public', 'graphql_public']);
    expect(includedSchemas('[api]\nschemas = ["api", "public"]\n[db]\nschemas = ["x"]')).toEqual(['public', 'api']);
    expect(includedSchemas('[auth]\nenable_signup = true')).toEqual(['public']);
  });
});
