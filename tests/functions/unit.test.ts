/**
 * The functions' own unit tests (`*.test.ts` beside their modules in edge-functions/),
 * run in-process by `deno test` with the pinned Deno and the functions' deno.json, on
 * this run's Redis. This file only runs them and checks that every one of them ran.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { denoBinary } from '../../devstack/functions/serve.ts';

/** The folders of edge-functions/ that hold code (each function and _shared/). */
const FOLDERS = readdirSync(join(repoRoot, 'edge-functions'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join('edge-functions', entry.name));

/** Repository-relative paths of the Deno test files under edge-functions/. */
function testFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts')) found.push(path);
    }
  };
  for (const folder of FOLDERS) walk(folder);
  return found.sort();
}

it('every Deno unit test of the functions passes under deno test', async () => {
  const args = ['test', '--config', join(repoRoot, 'edge-functions', 'projects', 'deno.json'), '--allow-env', '--allow-net=127.0.0.1', ...FOLDERS];
  const { status, output } = await new Promise<{ status: number | null; output: string }>((resolvePromise) => {
    const child = spawn(denoBinary, args, {
      cwd: repoRoot,
      // Database 11 of the run's Redis is these tests' own.
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', REDIS_URL: `${inject('redisUrl').replace(/\/\d*$/, '')}/11` },
    });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.stderr.on('data', (chunk) => (text += chunk));
    child.on('close', (code) => resolvePromise({ status: code, output: text }));
  });
  expect(status, output).toBe(0);
  const ran = [...output.matchAll(/^running \d+ tests? from \.\/(\S+)$/gm)].map((match) => match[1]!).sort();
  const files = testFiles();
  expect(files.length).toBeGreaterThanOrEqual(14);
  expect(ran).toEqual(files);
  expect(output).toMatch(/^ok \| \d+ passed \| 0 failed/m);
}, 180_000);
