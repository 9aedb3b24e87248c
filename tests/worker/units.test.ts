/**
 * The worker's pure parts: configuration, backoff, notification parsing, the attempt
 * log line and the batcher.
 */
import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../worker/src/backoff.ts';
import { Batcher } from '../../worker/src/batcher.ts';
import { ConfigError, loadConfig } from '../../worker/src/config.ts';
import { parseJobNotification } from '../../worker/src/dispatcher.ts';
import { parseCacheNotification } from '../../worker/src/invalidator.ts';
import { createJobCatalog, diagnosticJobsFromEnv, validateJobPayload } from '../../edge-functions/_shared/jobs/catalog.ts';
import { catalogMismatch, jobHandlersFor } from '../../worker/src/jobs/registry.ts';
import { attemptLogLine } from '../../worker/src/lifecycle.ts';

const id = '6f1c1f5e-3a2b-4c1d-9e8f-0a1b2c3d4e5f';

describe('configuration', () => {
  it('takes SUPABASE_DB_URL over DATABASE_URL and fills the defaults', () => {
    const config = loadConfig({ SUPABASE_DB_URL: 'postgres://a@h/db', DATABASE_URL: 'postgres://b@h/db' });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://a@h/db',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 54334,
      queuePrefix: 'bull',
      concurrency: 10,
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://b@h/db', TANDEM_WORKER_CONCURRENCY: '32' })).toMatchObject({
      databaseUrl: 'postgresql://b@h/db',
      concurrency: 32,
    });
  });

  it('names every bad variable', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'postgres://x@h/db', PORT: '99999', REDIS_URL: 'http://nope', TANDEM_WORKER_BACKOFF_BASE_MS: '1.5' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT: .*65535/);
    expect(attempt).toThrow(/REDIS_URL: must be a redis/);
    expect(attempt).toThrow(/TANDEM_WORKER_BACKOFF_BASE_MS: must be an integer/);
    expect(() => loadConfig({})).toThrow(/set SUPABASE_DB_URL or DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_WORKER_BACKOFF_BASE_MS: '500', TANDEM_WORKER_BACKOFF_MAX_MS: '100' })).toThrow(
      /BACKOFF_MAX_MS: must be at least/,
    );
  });
});

describe('retry backoff', () => {
  it('doubles per attempt within equal-jitter bounds, up to the cap', () => {
    const options = { baseMs: 1000, maxMs: 10_000 };
    expect(retryDelay(1, options, () => 0)).toBe(500);
    expect(retryDelay(1, options, () => 1)).toBe(1000);
    expect(retryDelay(3, options, () => 0)).toBe(2000);
    expect(retryDelay(3, options, () => 1)).toBe(4000);
    expect(retryDelay(10, options, () => 1)).toBe(10_000);
    expect(retryDelay(10, options, () => 0)).toBe(5000);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay(2, options)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('notifications', () => {
  it('parses tandem_jobs payloads and ignores anything else', () => {
    expect(parseJobNotification(JSON.stringify({ op: 'retry', id }))).toEqual({ op: 'retry', id });
    expect(parseJobNotification(JSON.stringify({ op: 'delete', id }))).toBeNull();
    expect(parseJobNotification(JSON.stringify({ op: 'insert', id: 'x' }))).toBeNull();
    expect(parseJobNotification('not json')).toBeNull();
  });

  it('parses tandem_cache payloads, dropping invalid ids', () => {
    expect(parseCacheNotification(JSON.stringify({ user_ids: [id, 'nope', 3] }))).toEqual([id]);
    expect(parseCacheNotification(JSON.stringify({ user_ids: null }))).toEqual([]);
    expect(parseCacheNotification('{}')).toBeNull();
  });
});

describe('attempt log and catalog', () => {
  it('writes one clipped line per attempt', () => {
    expect(attemptLogLine(2, 3, 'boom\n  at stack')).toBe('attempt 2/3: boom at stack');
    expect(attemptLogLine(1, 1, 'x'.repeat(5000))).toHaveLength('attempt 1/1: '.length + 2000);
  });

  it('has a handler for every catalog type and no other, with the diagnostic types on and off', () => {
    for (const diagnostics of [true, false]) {
      expect(catalogMismatch(createJobCatalog({ diagnostics }), jobHandlersFor(diagnostics))).toEqual({ missingHandlers: [], unknownHandlers: [] });
    }
    expect([...jobHandlersFor(false).keys()].sort()).toEqual(['project.export', 'project.stats']);
  });

  it('reports catalogs that disagree (the worker then refuses to start)', () => {
    expect(catalogMismatch(createJobCatalog({ diagnostics: false }), jobHandlersFor(true))).toEqual({
      missingHandlers: [],
      unknownHandlers: ['diagnostic.sleep'],
    });
    expect(catalogMismatch(createJobCatalog({ diagnostics: true }), jobHandlersFor(false))).toEqual({
      missingHandlers: ['diagnostic.sleep'],
      unknownHandlers: [],
    });
  });
});

describe('diagnostic job types (TANDEM_DIAGNOSTIC_JOBS)', () => {
  it('are off unless the setting is on, and a bad value is refused', () => {
    expect(diagnosticJobsFromEnv(() => undefined)).toBe(false);
    expect(diagnosticJobsFromEnv(() => '')).toBe(false);
    expect(diagnosticJobsFromEnv(() => 'off')).toBe(false);
    expect(diagnosticJobsFromEnv(() => ' ON ')).toBe(true);
    expect(() => diagnosticJobsFromEnv(() => 'yes')).toThrow(/TANDEM_DIAGNOSTIC_JOBS must be "on" or "off", got "yes"/);
  });

  it('are read by the worker configuration the same way', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }).diagnosticJobs).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_DIAGNOSTIC_JOBS: 'on' }).diagnosticJobs).toBe(true);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_DIAGNOSTIC_JOBS: 'sometimes' })).toThrow(ConfigError);
  });

  it('are unknown types with a message that says why while off', () => {
    const off = validateJobPayload(createJobCatalog({ diagnostics: false }), 'diagnostic.sleep', { ms: 1 });
    expect(off).toMatchObject({ ok: false, reason: 'unknown_type', known: ['project.export', 'project.stats'] });
    expect(off.ok ? '' : off.message).toBe(
      'job type "diagnostic.sleep" is a diagnostic type, which is off here (TANDEM_DIAGNOSTIC_JOBS is not "on"); known types: project.export, project.stats',
    );
    expect(validateJobPayload(createJobCatalog({ diagnostics: true }), 'diagnostic.sleep', { ms: 1 })).toEqual({
      ok: true,
      payload: { ms: 1, fail_times: 0 },
    });
  });
});

describe('batcher', () => {
  it('answers each caller from one flush per window', async () => {
    const flushes: string[][] = [];
    const batcher = new Batcher<string, number>(async (items) => {
      flushes.push(items);
      return items.map((item) => item.length);
    }, { windowMs: 5 });
    const answers = await Promise.all(['a', 'bb', 'ccc'].map((item) => batcher.submit(item)));
    expect(answers).toEqual([1, 2, 3]);
    expect(flushes).toEqual([['a', 'bb', 'ccc']]);
  });

  it('gathers what arrives during a flush into the next one (group commit)', async () => {
    const flushes: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number, number>(async (items) => {
      flushes.push(items);
      if (flushes.length === 1) await gate;
      return items;
    }, { windowMs: 0, maxInFlight: 1 });
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => batcher.submit(n));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(flushes).toEqual([[1]]); // 2-4 wait for the running flush
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every caller of a failed flush, and drains', async () => {
    const batcher = new Batcher<number, number>(async () => {
      throw new Error('flush failed');
    }, { windowMs: 0 });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await batcher.drain();
  });
});
