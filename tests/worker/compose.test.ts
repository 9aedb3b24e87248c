/**
 * docker-compose.yml and worker/Dockerfile, checked without Docker (none runs here): the
 * compose file's structure and settings, that every variable it passes is one the worker
 * accepts (with its defaults filled in), and that the Dockerfile copies paths that exist
 * and starts the worker's entry point. (The compose file was also validated against the
 * compose-spec JSON schema by hand; see docs/worker.md.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  it("starts from the Node major of package.json's engines, installs with npm ci and runs the worker entry point", () => {
    const { engines } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    const major = /^>=(\d+)\./.exec(engines.node)?.[1];
    expect(major).toBe('24');
    expect(dockerfile).toMatch(new RegExp(`^FROM node:${major}[-\\w.]*$`, 'm'));
    expect(dockerfile).toMatch(/^RUN npm ci /m);
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
