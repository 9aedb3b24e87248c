/**
 * `rediss://` against a real TLS-only redis-server whose certificate comes from a private
 * CA (as Redis Cloud's or a self-hosted Redis's does): core/redis/connection.ts connects
 * when REDIS_TLS_CA names that CA, with the `default` user's password or an ACL user;
 * a wrong CA, no CA or a wrong password fail with an error saying so; the worker's and
 * the functions' configurations take REDIS_TLS_CA and refuse it where it cannot apply;
 * the functions' runtime (Deno, ioredis through node:tls) connects with it; and the worker
 * runs on that Redis and reports healthy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { denoBinary } from '../../devstack/functions/serve.ts';
import { configFromEnv } from '../../edge-functions/_shared/config.ts';
import { createRedisClient, parseRedisUrl, type RedisClient } from '../../core/redis/connection.ts';
import { loadConfig } from '../../worker/src/config.ts';
import { startWorker } from '../../worker/src/worker.ts';
import { makeTestCertificates, startTlsRedisServer, type TlsRedisServer } from '../harness/redis.ts';
import { quietLog, testConfig, usePrivateDatabase, waitFor } from './helpers.ts';

const PASSWORD = 'tls-s3cret';
let server: TlsRedisServer;
const clients: RedisClient[] = [];
beforeAll(async () => {
  server = await startTlsRedisServer({ password: PASSWORD });
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

const urlWith = (userinfo: string) => server.url.replace('rediss://', `rediss://${userinfo}@`);

async function open(url: string, tlsCa: string | undefined): Promise<RedisClient> {
  // One attempt: a refused connection should surface its error, not be retried forever.
  const client = await createRedisClient(parseRedisUrl(url, { tlsCa }), { retryStrategy: () => null, maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

/** The first error the connection reports (TLS and auth failures arrive as 'error' events). */
async function firstError(url: string, tlsCa: string | undefined): Promise<string> {
  const errors: string[] = [];
  const client = await open(url, tlsCa);
  client.on('error', (error: Error) => errors.push(error.message));
  await client.ping().catch((error: Error) => errors.push(error.message));
  return waitFor(async () => errors[0], 'a connection error', 5_000);
}

describe('rediss:// with a private CA', () => {
  it('connects with the CA and the default user’s password', async () => {
    const client = await open(urlWith(`default:${PASSWORD}`), server.ca);
    expect(await client.ping()).toBe('PONG');
    await client.set('{tls}:probe', 'over tls');
    expect(await client.get('{tls}:probe')).toBe('over tls');
    // The session really is TLS: Redis lists the connection on its TLS port.
    expect(await client.call('CLIENT', 'INFO')).toMatch(new RegExp(`laddr=127\\.0\\.0\\.1:${server.port}`));
  });

  it('connects as an ACL user', async () => {
    const admin = await open(urlWith(`default:${PASSWORD}`), server.ca);
    await admin.call('ACL', 'SETUSER', 'tandem', 'on', '>app-pass', '~{tls}:*', '+@all');
    const client = await open(urlWith('tandem:app-pass'), server.ca);
    await client.set('{tls}:acl', 'yes');
    expect(await client.get('{tls}:acl')).toBe('yes');
    expect(await client.call('ACL', 'WHOAMI')).toBe('tandem');
  });

  it('refuses a server certificate from another CA, or with no CA given', async () => {
    const other = makeTestCertificates().ca;
    expect(await firstError(urlWith(`default:${PASSWORD}`), other)).toMatch(/certificate|issuer/i);
    // Without REDIS_TLS_CA only the runtime's public CAs are trusted.
    expect(await firstError(urlWith(`default:${PASSWORD}`), undefined)).toMatch(/certificate|issuer/i);
  });

  it('refuses a wrong password with WRONGPASS', async () => {
    expect(await firstError(urlWith('default:wrong'), server.ca)).toMatch(/WRONGPASS/);
  });
});

describe('REDIS_TLS_CA in the configurations', () => {
  it('the worker takes it, and refuses it with redis:// or as a file name', () => {
    const base = { DATABASE_URL: 'postgres://x@h/db' };
    expect(loadConfig({ ...base, REDIS_URL: server.url, REDIS_TLS_CA: server.ca }).redisTlsCa).toBe(server.ca);
    expect(() => loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA: server.ca })).toThrow(/REDIS_TLS_CA is set but REDIS_URL is not rediss:\/\//);
    expect(() => loadConfig({ ...base, REDIS_URL: server.url, REDIS_TLS_CA: '/etc/ssl/redis-ca.pem' })).toThrow(/REDIS_TLS_CA must be PEM text/);
  });

  it('the functions take it into their Redis settings, and refuse it with redis://', () => {
    const env: Record<string, string> = { REDIS_URL: server.url, REDIS_TLS_CA: server.ca, SUPABASE_JWT_SECRET: 'x'.repeat(32) };
    expect(configFromEnv((name) => env[name]).redis).toMatchObject({ tls: true, tlsCa: server.ca.trim() });
    env.REDIS_URL = 'redis://127.0.0.1:6379';
    expect(() => configFromEnv((name) => env[name])).toThrow(/REDIS_TLS_CA is set but REDIS_URL is not rediss:\/\//);
  });
});

/** Runs the functions' configuration and Redis client under Deno with `env`; what it printed. */
async function pingFromDeno(env: Record<string, string>): Promise<{ ping?: string; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-deno-tls-'));
  const module = (path: string) => pathToFileURL(join(repoRoot, path)).href;
  const script = join(dir, 'probe.ts');
  writeFileSync(
    script,
    [
      `import { configFromEnv } from '${module('edge-functions/_shared/config.ts')}';`,
      `import { createRedisClient } from '${module('core/redis/connection.ts')}';`,
      `const config = configFromEnv((name) => Deno.env.get(name));`,
      `const redis = await createRedisClient(config.redis, { retryStrategy: () => null, maxRetriesPerRequest: 0 });`,
      `redis.on('error', (error: Error) => { console.log(JSON.stringify({ error: error.message })); Deno.exit(0); });`,
      `console.log(JSON.stringify({ ping: await redis.ping() }));`,
      `redis.disconnect();`,
    ].join('\n'),
  );
  try {
    const args = ['run', '--config', join(repoRoot, 'edge-functions', 'projects', 'deno.json'), '--allow-env', '--allow-net=127.0.0.1', '--allow-read', script];
    const output = await new Promise<string>((resolve) => {
      const child = spawn(denoBinary, args, { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...env } });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.stderr.on('data', (chunk) => (text += chunk));
      child.on('close', () => resolve(text));
    });
    const line = output.split('\n').find((entry) => entry.startsWith('{'));
    if (!line) throw new Error(`Deno printed no result:\n${output}`);
    return JSON.parse(line) as { ping?: string; error?: string };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the functions over TLS (Deno)', () => {
  it('connect with REDIS_TLS_CA, and fail on another CA', async () => {
    const url = urlWith(`default:${PASSWORD}`);
    expect(await pingFromDeno({ REDIS_URL: url, REDIS_TLS_CA: server.ca })).toEqual({ ping: 'PONG' });
    expect((await pingFromDeno({ REDIS_URL: url, REDIS_TLS_CA: makeTestCertificates().ca })).error).toMatch(/certificate|issuer/i);
  }, 120_000);
});

describe('the worker over TLS', () => {
  const db = usePrivateDatabase();
  it('starts and reports healthy on the TLS Redis', async () => {
    const worker = await startWorker(testConfig(db.url, { redisUrl: urlWith(`default:${PASSWORD}`), redisTlsCa: server.ca }), { log: quietLog });
    try {
      const response = await fetch(`http://127.0.0.1:${worker.port}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', redis: true });
    } finally {
      await worker.stop();
    }
  });
});
