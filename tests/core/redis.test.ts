/**
 * The shared Redis pieces without a server: REDIS_URL parsing (single node, cluster, TLS,
 * credentials), the key layout and its one-slot rule, TANDEM_REDIS_PREFIX in both
 * configurations, the functions' zod configuration, and the once-per-interval log.
 */
import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../core/redis/connection.ts';
import { DEFAULT_REDIS_PREFIX, hashTag, redisKeys, redisPrefixFromEnv } from '../../core/redis/keys.ts';
import { createLogger } from '../../core/log.ts';
import { createRepeatedLog } from '../../core/log-repeats.ts';
import { configFromEnv } from '../../edge-functions/_shared/config.ts';
import { loadConfig } from '../../worker/src/config.ts';

/** Redis Cluster's key slot (CRC16/XMODEM of the hash tag, or of the key, mod 16384). */
function keySlot(key: string): number {
  const hashed = hashTag(key) ?? key;
  let crc = 0;
  for (const byte of new TextEncoder().encode(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('REDIS_URL', () => {
  it('reads a single node, with database, credentials and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toMatchObject({ mode: 'single', nodes: [{ host: '127.0.0.1', port: 6379 }], tls: false, db: 0 });
    expect(parseRedisUrl('redis://h/5')).toMatchObject({ nodes: [{ host: 'h', port: 6379 }], db: 5 });
    const managed = parseRedisUrl('rediss://default:p%40ss@cache.example.com:6380');
    expect(managed).toMatchObject({ mode: 'single', tls: true, username: 'default', password: 'p@ss', nodes: [{ host: 'cache.example.com', port: 6380 }] });
    expect(managed.display).toBe('rediss://default:***@cache.example.com:6380');
    expect(parseRedisUrl('redis://:secret@[::1]:7000')).toMatchObject({ password: 'secret', username: undefined, nodes: [{ host: '::1', port: 7000 }] });
  });

  it('reads a cluster from its seed nodes', () => {
    const cluster = parseRedisUrl('rediss+cluster://user:pw@node-1:7000,node-2,10.0.0.3:7002');
    expect(cluster).toMatchObject({ mode: 'cluster', tls: true, username: 'user', password: 'pw' });
    expect(cluster.nodes).toEqual([
      { host: 'node-1', port: 7000 },
      { host: 'node-2', port: 6379 },
      { host: '10.0.0.3', port: 7002 },
    ]);
    expect(cluster.display).toBe('rediss+cluster://user:***@node-1:7000,node-2,10.0.0.3:7002');
  });

  it('refuses what it cannot mean', () => {
    expect(() => parseRedisUrl('http://h:6379')).toThrow(/REDIS_URL must be redis:\/\//);
    expect(() => parseRedisUrl('redis://a:1,b:2')).toThrow(/redis\+cluster:\/\//);
    expect(() => parseRedisUrl('redis+cluster://a:1/3')).toThrow(/database/);
    expect(() => parseRedisUrl('redis://h:99999')).toThrow(/malformed host/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', REDIS_URL: 'redis://a,b' })).toThrow(/REDIS_URL: .*redis\+cluster/);
    expect(() => configFromEnv((name) => ({ REDIS_URL: 'nope' })[name])).toThrow(/REDIS_URL must be redis:\/\//);
  });
});

describe('key layout', () => {
  it('puts every key of Tandem in one cluster slot', () => {
    const keys = redisKeys();
    const all = [
      keys.cacheEpoch,
      keys.cacheVersion('7c0e9f5c-0000-4000-8000-000000000001'),
      keys.cacheListing('7c0e9f5c-0000-4000-8000-000000000002'),
      keys.rateLimit('ip', '203.0.113.7'),
      keys.rateLimit('user-writes', '7c0e9f5c-0000-4000-8000-000000000003'),
      `${keys.bullPrefix}:tandem-jobs:wait`,
      `${keys.bullPrefix}:tandem-jobs:6f1c1f5e-3a2b-4c1d-9e8f-0a1b2c3d4e5f`,
    ];
    expect(all.every((key) => key.startsWith('{tandem}:'))).toBe(true);
    expect(new Set(all.map(keySlot)).size).toBe(1);
    // Without the tag the same keys scatter, which is what CROSSSLOT refuses.
    expect(new Set(all.map((key) => keySlot(key.replace('{tandem}', 'tandem')))).size).toBeGreaterThan(1);
  });

  it('takes TANDEM_REDIS_PREFIX, hash-tagged, in the functions and the worker alike', () => {
    const env = (values: Record<string, string>) => (name: string) => values[name];
    expect(redisPrefixFromEnv(env({}))).toBe(DEFAULT_REDIS_PREFIX);
    expect(configFromEnv(env({ TANDEM_REDIS_PREFIX: '{acme}' })).redisKeys.cacheEpoch).toBe('{acme}:cache:epoch');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_REDIS_PREFIX: '{acme}' }).redisPrefix).toBe('{acme}');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }).redisPrefix).toBe('{tandem}');
    for (const bad of ['tandem', '{}x', 'a b', '{tandem}:']) {
      expect(() => redisPrefixFromEnv(env({ TANDEM_REDIS_PREFIX: bad })), bad).toThrow(/TANDEM_REDIS_PREFIX/);
      expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_REDIS_PREFIX: bad }), bad).toThrow(/TANDEM_REDIS_PREFIX/);
    }
    // The worker's former BullMQ-only prefix is refused, saying what replaced it.
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_WORKER_QUEUE_PREFIX: 'tq' })).toThrow(/TANDEM_WORKER_QUEUE_PREFIX: was replaced by TANDEM_REDIS_PREFIX/);
    expect(() => configFromEnv(env({ TANDEM_WORKER_QUEUE_PREFIX: 'tq' }))).toThrow(/replaced by TANDEM_REDIS_PREFIX/);
  });
});

describe("the functions' configuration", () => {
  it('keeps every default', () => {
    const config = configFromEnv(() => undefined);
    expect(config).toMatchObject({
      databaseUrl: undefined,
      redisUrl: 'redis://127.0.0.1:6379',
      redis: { mode: 'single' },
      rateLimit: { windowSeconds: 60, userWrites: 300, userReads: 1200, ip: 3000, trustedProxyHops: 0 },
      listingCache: true,
      logLevel: 'info',
      diagnosticJobs: false,
    });
    expect(configFromEnv((name) => ({ SUPABASE_DB_URL: 'postgres://a@h/db', DATABASE_URL: 'postgres://b@h/db' })[name]).databaseUrl).toBe('postgres://a@h/db');
    expect(configFromEnv((name) => ({ TANDEM_RATE_LIMIT_WINDOW_SECONDS: '0', TANDEM_LISTING_CACHE: ' OFF ', TANDEM_LOG_LEVEL: 'loud' })[name])).toMatchObject({
      rateLimit: { windowSeconds: 1 },
      listingCache: false,
      logLevel: 'info',
    });
  });

  it('names each malformed variable', () => {
    const attempt = () => configFromEnv((name) => ({ TANDEM_RATE_LIMIT_IP: '-1', TANDEM_LISTING_CACHE: 'maybe' })[name]);
    expect(attempt).toThrow(/TANDEM_RATE_LIMIT_IP must be a non-negative integer, got "-1"/);
    expect(attempt).toThrow(/TANDEM_LISTING_CACHE must be "on" or "off", got "maybe"/);
  });
});

describe('repeated errors', () => {
  it('are logged once per interval, with the count of those not logged', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({}, { write: (line) => lines.push(JSON.parse(line)) });
    let now = 0;
    const repeats = createRepeatedLog(log, 10_000, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 10;
      repeats.warn('redis_error', { error: 'ECONNREFUSED' });
    }
    expect(lines.map((line) => [line.msg, line.repeated])).toEqual([['redis_error', undefined]]);
    now += 10_000;
    repeats.warn('redis_error', { error: 'ECONNREFUSED' });
    repeats.warn('redis_error', { error: 'ECONNREFUSED' });
    repeats.resolved('redis_error');
    repeats.resolved('redis_error');
    expect(lines.map((line) => [line.msg, line.repeated])).toEqual([
      ['redis_error', undefined],
      ['redis_error', 999],
      ['redis_error_resolved', 1],
    ]);
  });
});
