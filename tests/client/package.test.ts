/**
 * `client/` as the package an app installs (`@tandem/client`): packed with `npm pack`
 * (which builds it), unpacked into a throwaway app's node_modules, then imported from a
 * plain `.mjs` file run by Node, bundled for the browser with esbuild and run, and
 * type-checked from a TypeScript consumer under both `nodenext` and `bundler` resolution.
 * The app joins a real workspace on the local Realtime (and the `projects` function for
 * its member list) through the packed code. The app
 * sits under the repository's ignored `.tmp/`, so supabase-js (the package's peer) comes
 * from the repository's node_modules, as it would from the app's own.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { adminSql, createUser, type TestUser } from '../harness/db.ts';
import { anonKey, createProject, userToken } from '../realtime/helpers.ts';
import { startWorkspaceStack, type WorkspaceStack } from './workspace-stack.ts';

const sql = adminSql();
let stack: WorkspaceStack;
let owner: TestUser;
let projectId: string;
let app: string;
let packedFiles: string[];
let anonToken: string;
let ownerToken: string;

/** Joins the workspace through the package and prints what it saw, as one JSON line. */
const appSource = `
import { createClient } from '@supabase/supabase-js';
import { Constants, joinWorkspace, WORKSPACE_SERVER_EVENTS, WorkspaceError } from '@tandem/client';

const { REALTIME_URL, ANON_KEY, USER_TOKEN, PROJECT_ID } = process.env;
const anonymous = createClient(REALTIME_URL, ANON_KEY, { auth: { persistSession: false, autoRefreshToken: false } });
const refused = await joinWorkspace(anonymous, PROJECT_ID).catch((error) => error);
const member = createClient(REALTIME_URL, ANON_KEY, { accessToken: async () => USER_TOKEN });
const workspace = await joinWorkspace(member, PROJECT_ID);
const online = workspace.members().map((m) => m.display_name);
await workspace.leave();
await member.removeAllChannels();
console.log(JSON.stringify({
  refused: { isWorkspaceError: refused instanceof WorkspaceError, code: refused.code },
  online,
  events: WORKSPACE_SERVER_EVENTS,
  roles: Constants.public.Enums.project_role,
}));
process.exit(0);
`;

const consumerSource = `
import { createClient } from '@supabase/supabase-js';
import { joinWorkspace, WorkspaceError, type Database, type OnlineMember, type Workspace } from '@tandem/client';

const supabase = createClient<Database>('http://127.0.0.1:54321', 'anon-key');
export const role: Database['public']['Enums']['project_role'] = 'viewer';
// @ts-expect-error 'admin' is not a project role: the Database types arrived, not any
export const notARole: Database['public']['Enums']['project_role'] = 'admin';
// @ts-expect-error WorkspaceError's codes are a closed set
export const badCode = new WorkspaceError('nope', 'x');
export function join(projectId: string): Promise<Workspace> {
  return joinWorkspace(supabase, projectId, { sync: (members: OnlineMember[]) => void members.length });
}
`;

/** Runs `file` with Node in the app; asynchronously, as the Realtime it talks to runs in this process. */
async function runApp(file: string): Promise<unknown> {
  const env = {
    PATH: process.env.PATH,
    REALTIME_URL: stack.baseUrl,
    ANON_KEY: anonToken,
    USER_TOKEN: ownerToken,
    PROJECT_ID: projectId,
  };
  const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const expectedRun = () => ({
  refused: { isWorkspaceError: true, code: 'invalid' },
  online: ['Packed Owner'],
  events: ['member_joined', 'member_left', 'member_role_changed', 'project_updated', 'project_deleted', 'job_updated'],
  roles: ['owner', 'collaborator', 'viewer'],
});

beforeAll(async () => {
  stack = await startWorkspaceStack();
  owner = await createUser(sql, { displayName: 'Packed Owner' });
  projectId = await createProject(sql, [[owner, 'owner']]);
  anonToken = await anonKey();
  ownerToken = await userToken(owner);

  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  app = mkdtempSync(join(repoRoot, '.tmp', 'client-app-'));
  const installed = join(app, 'node_modules', '@tandem', 'client');
  mkdirSync(installed, { recursive: true });
  const npm = (args: string[]) => execFileSync('npm', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [packed] = JSON.parse(npm(['pack', '--workspace', 'client', '--pack-destination', app, '--json'])) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  packedFiles = packed!.files.map((file) => file.path).sort();
  execFileSync('tar', ['-xzf', join(app, packed!.filename), '-C', installed, '--strip-components=1']);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'client-app', private: true, type: 'module' }));
  writeFileSync(join(app, 'main.mjs'), appSource);
  writeFileSync(join(app, 'consumer.ts'), consumerSource);
});

afterAll(async () => {
  await stack?.stop();
  await sql.end();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('@tandem/client, packed and installed', () => {
  it('ships built JavaScript and declarations, not the TypeScript sources', () => {
    expect(packedFiles).toContain('dist/index.js');
    expect(packedFiles).toContain('dist/index.d.ts');
    for (const file of packedFiles) expect(file).toMatch(/^(package\.json|dist\/[\w.]+\.(js|d\.ts))$/);
  });

  it('imports from a plain .mjs file and joins a workspace', async () => {
    expect(await runApp('main.mjs')).toEqual(expectedRun());
  });

  it('bundles for the browser with esbuild, and the bundle runs', async () => {
    const result = await build({
      entryPoints: ['main.mjs'],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(app, 'bundle.mjs'),
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/@tandem/client/dist/workspace.js');
    expect(inputs.some((input) => input.endsWith('.ts'))).toBe(false);
    expect(await runApp('bundle.mjs')).toEqual(expectedRun());
  });

  it.each([
    ['nodenext', 'nodenext'],
    ['esnext', 'bundler'],
  ])('type-checks a TypeScript consumer (module %s, moduleResolution %s)', async (module, moduleResolution) => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom', '--types', 'node', '--module', module, '--moduleResolution', moduleResolution, 'consumer.ts'];
    const checked = promisify(execFile)(process.execPath, [tsc, ...args], { cwd: app, encoding: 'utf8' });
    await expect(checked.catch((error: { stdout?: string }) => Promise.reject(new Error(error.stdout)))).resolves.toBeDefined();
  });
});
