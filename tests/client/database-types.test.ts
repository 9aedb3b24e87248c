/**
 * client/database.types.ts must match what `npm run gen:types` generates from the live
 * schema: regenerate from the test database (migrated from the working tree) and compare.
 */
import { readFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from '../../devstack/types/generate.ts';
import { adminSql } from '../harness/db.ts';

const sql = adminSql({ max: 1 });
afterAll(() => sql.end());

it('client/database.types.ts is up to date with the schema (run `npm run gen:types` if not)', async () => {
  const generated = await generateDatabaseTypes(sql);
  const committed = readFileSync(DATABASE_TYPES_PATH, 'utf8');
  expect(committed, 'client/database.types.ts is stale: DATABASE_URL=<migrated db> npm run gen:types').toBe(generated);
  // The generator reads the catalog, not a fixed list: the contract's names must be there.
  for (const name of ['profiles: {', 'projects: {', 'project_members: {', 'project_invitations: {', 'jobs: {', 'create_invitation:', 'my_invitations:', 'retry_job:']) {
    expect(generated).toContain(name);
  }
  expect(generated).toContain('project_role: "owner" | "collaborator" | "viewer"');
});
