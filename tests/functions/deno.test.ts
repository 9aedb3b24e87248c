/**
 * The functions as the Supabase CLI sees them: `deno check` of every entrypoint with its
 * own deno.json, import maps pinned to package.json's versions, and config.toml pointing
 * at the files that exist.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSupabaseConfig } from '../../devstack/config/supabase-config.ts';
import { repoRoot } from '../../devstack/db/setup.ts';
import { denoBinary, FUNCTION_NAMES } from '../../devstack/functions/serve.ts';

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** Every npm version package.json pins: the functions' packages are devDependencies (the worker's image leaves them out). */
const pinned = { ...packageJson.devDependencies, ...packageJson.dependencies };

/** Runs `deno check` of a function's entrypoint with its own deno.json. */
function denoCheck(dir: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(denoBinary, ['check', '--config', join(dir, 'deno.json'), join(dir, 'index.ts')], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (status) => resolvePromise({ status, output }));
  });
}

it('every function passes deno check', async () => {
  const results = await Promise.all(FUNCTION_NAMES.map((name) => denoCheck(join(repoRoot, 'edge-functions', name))));
  for (const result of results) expect(result.status, result.output).toBe(0);
}, 150_000);

describe.each(FUNCTION_NAMES)('function %s', (name) => {
  const dir = join(repoRoot, 'edge-functions', name);

  it('maps every bare specifier to the npm version package.json pins', () => {
    const config = JSON.parse(readFileSync(join(dir, 'deno.json'), 'utf8')) as { imports: Record<string, string>; nodeModulesDir: string };
    expect(config.nodeModulesDir).toBe('manual');
    for (const [specifier, target] of Object.entries(config.imports)) {
      const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target);
      expect(match, `${specifier} → ${target}`).not.toBeNull();
      expect(pinned[match![1]!], specifier).toBe(match![2]);
    }
    const other = FUNCTION_NAMES.find((n) => n !== name)!;
    expect(config.imports).toEqual(JSON.parse(readFileSync(join(repoRoot, 'edge-functions', other, 'deno.json'), 'utf8')).imports);
  });

  it('is registered in supabase/config.toml with verify_jwt = false and existing paths', () => {
    const section = loadSupabaseConfig().functions?.[name];
    expect(section?.verify_jwt).toBe(false);
    const entrypoint = section?.entrypoint;
    const importMap = section?.import_map;
    expect(resolve(repoRoot, 'supabase', entrypoint!)).toBe(join(dir, 'index.ts'));
    expect(resolve(repoRoot, 'supabase', importMap!)).toBe(join(dir, 'deno.json'));
    expect(existsSync(join(dir, 'index.ts'))).toBe(true);
  });
});
