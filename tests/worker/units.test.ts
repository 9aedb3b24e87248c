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
import { createJobCatalog, diagnosticJobsFromEnv, validateJobPayload } from '../../core/jobs/catalog.ts';
import { catalogMismatch, jobHandlersFor } from '../../worker/src/jobs/registry.ts';
import { attemptLogLine } from '../../worker/src/lifecycle.ts';
import { errorText, storableResult, storableText } from '../../worker/src/storable.ts';
import { acceptLink, renderInvitationMail } from '../../worker/src/mail/template.ts';
import { createLogger } from '../../core/log.ts';

const id = '6f1c1f5e-3a2b-4c1d-9e8f-0a1b2c3d4e5f';

describe('configuration', () => {
  it('takes SUPABASE_DB_URL over DATABASE_URL and fills the defaults', () => {
    const config = loadConfig({ SUPABASE_DB_URL: 'postgres://a@h/db', DATABASE_URL: 'postgres://b@h/db' });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://a@h/db',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 54334,
      metricsHost: '127.0.0.1',
      redisPrefix: '{tandem}',
      concurrency: 10,
    });
    expect(config.keepCompleted).toBe(1000);
    expect(
      loadConfig({ DATABASE_URL: 'postgresql://b@h/db', TANDEM_WORKER_CONCURRENCY: '32', TANDEM_WORKER_METRICS_HOST: '::', TANDEM_WORKER_KEEP_COMPLETED: '0' }),
    ).toMatchObject({
      databaseUrl: 'postgresql://b@h/db',
      concurrency: 32,
      metricsHost: '::',
      keepCompleted: 0,
    });
  });

  it('names every bad variable', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'postgres://x@h/db', PORT: '99999', REDIS_URL: 'http://nope', TANDEM_WORKER_BACKOFF_BASE_MS: '1.5' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT: .*65535/);
    expect(attempt).toThrow(/REDIS_URL: must be redis:\/\//);
    expect(attempt).toThrow(/TANDEM_WORKER_BACKOFF_BASE_MS: must be an integer/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_WORKER_METRICS_HOST: 'http://0.0.0.0' })).toThrow(
      /TANDEM_WORKER_METRICS_HOST: must be an IP address or a host name/,
    );
    expect(() => loadConfig({})).toThrow(/set SUPABASE_DB_URL or DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_WORKER_BACKOFF_BASE_MS: '500', TANDEM_WORKER_BACKOFF_MAX_MS: '100' })).toThrow(
      /BACKOFF_MAX_MS: must be at least/,
    );
  });
});

describe('invitation mail configuration and template', () => {
  it('mails only when SMTP_HOST is set, with the site URL and SMTP settings from the environment', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }).mail).toBeUndefined();
    const config = loadConfig({
      DATABASE_URL: 'postgres://x@h/db',
      SMTP_HOST: 'smtp.example.com',
      SMTP_USER: 'apikey',
      SMTP_PASS: 'secret',
      TANDEM_SITE_URL: 'https://app.example.com',
      TANDEM_WORKER_MAIL_MAX_ATTEMPTS: '3',
    });
    expect(config.mail).toEqual({
      smtp: { host: 'smtp.example.com', port: 587, user: 'apikey', pass: 'secret', adminEmail: 'admin@email.com', senderName: 'Tandem' },
      siteUrl: 'https://app.example.com',
      maxAttempts: 3,
      pollMs: 5000,
      backoff: { baseMs: 1000, maxMs: 300_000 },
    });
  });

  it('names bad mail variables', () => {
    const attempt = () =>
      loadConfig({ DATABASE_URL: 'postgres://x@h/db', SMTP_HOST: 'smtp.example.com', SMTP_PORT: '0', SMTP_ADMIN_EMAIL: 'nope', TANDEM_SITE_URL: 'ftp://x' });
    expect(attempt).toThrow(/SMTP_PORT: /);
    expect(attempt).toThrow(/SMTP_ADMIN_EMAIL: must be an email address/);
    expect(attempt).toThrow(/TANDEM_SITE_URL: must be an http:\/\/ or https:\/\/ URL/);
  });

  it('puts the token in the link\'s fragment and escapes the HTML', () => {
    const token = 'ab'.repeat(32);
    const link = acceptLink('https://app.example.com/', token);
    expect(link).toBe(`https://app.example.com/#/invitations/accept?token=${token}`);
    const mail = renderInvitationMail({ projectName: '<Apollo>', role: 'viewer', inviterName: 'Ada', expiresAt: new Date('2026-12-09T00:00:00Z'), acceptLink: link });
    expect(mail.subject).toBe('Ada invited you to <Apollo>');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('expires on 2026-12-09');
    expect(mail.html).toContain('&#60;Apollo&#62;');
    expect(mail.html).not.toContain('<Apollo>');
    expect(renderInvitationMail({ projectName: 'P', role: 'owner', inviterName: null, expiresAt: new Date(), acceptLink: link }).subject).toBe('Someone invited you to P');
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
    }, { windowMs: 0 });
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

  it('splits a failed flush that `isolate` accepts until only the bad item fails', async () => {
    const flushes: number[][] = [];
    const splits: number[] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      flushes.push(items);
      if (items.includes(3)) throw new Error('item 3 is bad');
      return items.map((n) => n * 10);
    }, { windowMs: 5, isolate: (error) => error instanceof Error && error.message.includes('bad'), onSplit: (_error, size) => splits.push(size) });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 'item 3 is bad', 40, 50]);
    expect(flushes).toEqual([[1, 2, 3, 4, 5], [1, 2, 3], [1, 2], [3], [4, 5]]);
    expect(splits).toEqual([5, 3]);
  });

  it('does not split a flush whose error `isolate` refuses (a lost connection)', async () => {
    let flushes = 0;
    const batcher = new Batcher<number, number>(async () => {
      flushes++;
      throw new Error('connection lost');
    }, { windowMs: 5, isolate: () => false });
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(flushes).toBe(1);
  });
});

describe('storable results and error texts', () => {
  it('refuses what JSON or jsonb cannot hold, naming where', () => {
    expect(storableResult({ rows: [1, 'two'] })).toEqual({ ok: true, json: '{"rows":[1,"two"]}' });
    expect(storableResult(undefined)).toEqual({ ok: true, json: 'null' });
    expect(storableResult({ 'emoji 😀': '😀' })).toEqual({ ok: true, json: '{"emoji 😀":"😀"}' });
    const refused = (value: unknown) => {
      const answer = storableResult(value);
      return answer.ok ? 'stored' : answer.reason;
    };
    expect(refused({ a: { b: 1n } })).toMatch(/at "b" is a BigInt/);
    const loop: unknown[] = [];
    loop.push(loop);
    expect(refused(loop)).toMatch(/the result refers back to itself/);
    expect(refused(['\uDC00'])).toMatch(/unpaired UTF-16 surrogate/);
    expect(refused({ ['k\u0000']: 1 })).toMatch(/a key of the result at .* contains a NUL/);
    expect(refused({ toJSON: () => { throw new Error('no JSON here'); } })).toMatch(/cannot be serialized as JSON \(no JSON here\)/);
    // The same object twice is not a cycle.
    const shared = { x: 1 };
    expect(refused({ a: shared, b: shared })).toBe('stored');
  });

  it('turns anything thrown into a non-empty text Postgres accepts', () => {
    const hostile = { toString: () => { throw new Error('nope'); } };
    const getter = Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('nope'); } });
    for (const thrown of [null, undefined, 42, 0n, Symbol('s'), Object.create(null), hostile, getter, '', new Error(''), () => 1]) {
      const text = errorText(thrown);
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain('\u0000');
      expect(storableText(text)).toBe(text);
    }
    expect(errorText(new Error('nul\u0000and \uD800 alone'))).toBe('nul\\0and \uFFFD alone');
    expect(errorText({ message: 'shaped like an error' })).toBe('shaped like an error');
    expect(attemptLogLine(1, 2, 'a\u0000b')).toBe('attempt 1/2: a\\0b');
  });
});

describe('log lines', () => {
  it('never throw on a field JSON cannot hold: a BigInt becomes text, a cycle a note', () => {
    const lines: string[] = [];
    const log = createLogger({ service: 'test' }, { write: (line) => lines.push(line) });
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    log.warn('odd_fields', { count: 10n, loop, fine: 'yes' });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'odd_fields', count: '10', loop: '[not serializable]', fine: 'yes' });
  });
});
