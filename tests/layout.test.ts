/**
 * The layout's rules, read from the imports of every TypeScript file: core/ keeps its
 * contract (core/README.md), the worker and the functions import each other only through
 * core/, product code never imports devstack/ or tests/, and the published client imports
 * nothing outside client/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../devstack/db/setup.ts';

const FUNCTIONS = ['projects', 'jobs'];

/** Repository-relative paths of the .ts files under `dir`. */
function sources(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(join(repoRoot, path), { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(child);
      } else if (entry.name.endsWith('.ts')) found.push(child);
    }
  };
  walk(dir);
  return found;
}

/** Source text without comments (examples in comments are not code). */
function code(file: string): string {
  return readFileSync(join(repoRoot, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

interface Import {
  specifier: string;
  /** Repository-relative target of a relative specifier. */
  target?: string;
}

/** Every static, re-exported and dynamic import of a file. */
function imports(file: string): Import[] {
  const text = code(file);
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.map((specifier) =>
    specifier.startsWith('.') ? { specifier, target: relative(repoRoot, resolve(repoRoot, dirname(file), specifier)) } : { specifier },
  );
}

const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const inside = (target: string, folder: string) => target === folder || target.startsWith(`${folder}/`);

/** `file → specifier` for each import of the files under `dir` that `bad` refuses. */
function violations(dir: string, bad: (found: Import) => boolean): string[] {
  return sources(dir).flatMap((file) => imports(file).filter(bad).map((found) => `${file} → ${found.specifier}`));
}

describe('the import scanner', () => {
  it('sees static, type-only, re-exported and dynamic imports', () => {
    const seen = (file: string) => imports(file).map((found) => found.target ?? found.specifier);
    expect(seen('worker/src/worker.ts')).toEqual(expect.arrayContaining(['core/queue.ts', 'core/jobs/catalog.ts', 'bullmq']));
    expect(seen('core/queue.ts')).toEqual(expect.arrayContaining(['bullmq', 'core/redis/keys.ts']));
    expect(seen('core/redis/connection.ts')).toEqual(expect.arrayContaining(['ioredis']));
    expect(seen('edge-functions/jobs/schemas.ts')).toEqual(expect.arrayContaining(['core/jobs/row.ts']));
  });
});

describe('core/', () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const pinned: Record<string, string> = { ...manifest.devDependencies, ...manifest.dependencies };
  const importMaps = FUNCTIONS.map(
    (name) => (JSON.parse(readFileSync(join(repoRoot, 'edge-functions', name, 'deno.json'), 'utf8')) as { imports: Record<string, string> }).imports,
  );

  it('imports only files in core/, by relative paths with their .ts extension', () => {
    expect(violations('core', (found) => found.target !== undefined && (!inside(found.target, 'core') || !found.specifier.endsWith('.ts')))).toEqual([]);
  });

  it("imports only npm packages pinned alike in package.json and each function's deno.json, and no node: module", () => {
    const refused = violations('core', ({ specifier, target }) => {
      if (target !== undefined) return false;
      if (specifier.startsWith('node:')) return true;
      const name = packageName(specifier);
      const version = pinned[name];
      return !version || importMaps.some((map) => map[name] !== `npm:${name}@${version}`);
    });
    expect(refused).toEqual([]);
  });

  it('reads no runtime globals (Deno.*, process.*): configuration is passed in', () => {
    const offending = sources('core').filter((file) => /\b(?:Deno|process)\s*\./.test(code(file)));
    expect(offending).toEqual([]);
  });
});

describe('who imports whom', () => {
  it('the worker imports nothing from edge-functions/, devstack/ or tests/', () => {
    expect(violations('worker', ({ target }) => !!target && ['edge-functions', 'devstack', 'tests'].some((folder) => inside(target, folder)))).toEqual([]);
  });

  it('the functions import nothing from worker/, devstack/ or tests/', () => {
    expect(violations('edge-functions', ({ target }) => !!target && ['worker', 'devstack', 'tests'].some((folder) => inside(target, folder)))).toEqual([]);
  });

  it('the devstack imports nothing from tests/', () => {
    expect(violations('devstack', ({ target }) => !!target && inside(target, 'tests'))).toEqual([]);
  });

  it('the published client imports nothing outside client/ (its types are proved equal to core in tests/core/rows.test.ts)', () => {
    expect(violations('client', ({ target }) => !!target && !inside(target, 'client'))).toEqual([]);
  });
});
